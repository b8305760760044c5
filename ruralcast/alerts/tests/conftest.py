"""Fixtures for emergency-broadcasting tests: a county with terminals, people on both sides of the
two-person rule, and a helper that drafts a message through the real services."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Alert, Status
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register


@pytest.fixture
def second_county_approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="second-approver")


@pytest.fixture
def township_approver(make_user: Callable[..., User], guzhou: Region) -> User:
    """Approves only in 古州镇: not over the whole county."""
    return make_user(role=Role.ALERT_APPROVER, region=guzhou, username="township-approver")


@pytest.fixture
def village_terminals(dashizi: Region, liziyuan: Region) -> list[Any]:
    """Two terminals in 大十字社区 and one in 梨子园社区 (both in 古州镇, 榕江县)."""
    return [
        terminal_register(actor=None, village=dashizi),
        terminal_register(actor=None, village=dashizi),
        terminal_register(actor=None, village=liziyuan),
    ]


@pytest.fixture
def fields_for() -> Callable[..., AlertFields]:
    def make(targets: list[Region], **overrides: Any) -> AlertFields:
        now = timezone.now()
        values: dict[str, Any] = {
            "status": Status.EXERCISE,
            "event_code": "11B03",
            "severity": 2,
            "title": "暴雨橙色预警演练",
            "text": "预计今天14时至20时，榕江县将出现50毫米以上强降雨，请做好防范。",
            "onset": now,
            "expires": now + timedelta(hours=2),
            "targets": targets,
        }
        values.update(overrides)
        return AlertFields(**values)

    return make


@pytest.fixture
def drafted(county_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]) -> Alert:
    return alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))


def stand_in_audio(alert: Alert) -> Alert:
    """Stand-in MP3 bytes in storage, so that submitting does not run espeak-ng (the speech app has
    its own tests). Returns the message as stored."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    data = b"ID3" + bytes(range(256)) * 40
    digest = hashlib.sha256(data).hexdigest()
    name = f"alerts/audio/{digest}.mp3"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    Alert.objects.filter(pk=alert.pk).update(
        audio_name=name, audio_sha256=digest, audio_bytes=len(data), audio_seconds=1.0
    )
    alert.refresh_from_db()
    return alert


def approve(alert: Alert, approver: User) -> Alert:
    """Approve the version the approver sees now (what the approval screen sends)."""
    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import alert_approve

    alert.refresh_from_db()
    return alert_approve(approver=approver, alert=alert, confirm_status=alert.status, version=content_version(alert))


def submitted(alert: Alert, author: User) -> Alert:
    from ruralcast.alerts.services import alert_submit

    return alert_submit(actor=author, alert=stand_in_audio(alert))


def dispatched(alert: Alert, author: User, approver: User) -> Alert:
    """Submitted, approved and marked published as the dispatcher does after every PUBACK."""
    from ruralcast.alerts.lifecycle import alert_mark_dispatched

    if alert.state == "draft":
        submitted(alert, author)
    approve(alert, approver)
    alert_mark_dispatched(ebm_id=alert.ebm_id)
    alert.refresh_from_db()
    return alert
