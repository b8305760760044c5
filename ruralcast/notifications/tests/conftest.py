"""Fixtures of the paging tests: approvers of 榕江县 and of its city 黔东南州, a roster helper, and a
helper that drafts and submits a message through the real alert services."""

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Alert, Status
from ruralcast.alerts.services import AlertFields, alert_create, alert_submit
from ruralcast.notifications.models import DutySlot, Tier
from ruralcast.notifications.services import duty_slot_add
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get


@pytest.fixture
def qiandongnan(db: None) -> Region:
    return region_get(code="522600000000")


@pytest.fixture
def backup_approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(
        role=Role.ALERT_APPROVER, region=rongjiang, username="rongjiang-backup", email="backup@example.invalid"
    )


@pytest.fixture
def unrostered_approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="rongjiang-third")


@pytest.fixture
def city_approver(make_user: Callable[..., User], qiandongnan: Region) -> User:
    return make_user(role=Role.ALERT_APPROVER, region=qiandongnan, username="qdn-approver")


@pytest.fixture
def roster(province_bureau_admin: User) -> Callable[..., list[DutySlot]]:
    """roster(region, user, tier=1, days=range(7), starts=00:00, ends=00:00): put `user` on duty
    (as Guizhou's bureau administrator, who may not approve: nobody extra on the ladder)."""

    def put(
        region: Region,
        user: User,
        tier: int = Tier.FIRST,
        days: Any = range(7),
        starts: time = time(0),
        ends: time = time(0),
    ) -> list[DutySlot]:
        return duty_slot_add(
            actor=province_bureau_admin, region=region, user=user, tier=tier, weekdays=days, starts=starts, ends=ends
        )

    return put


@pytest.fixture
def submit(county_station_operator: User, rongjiang: Region) -> Callable[..., Alert]:
    """submit(status=Status.EXERCISE, hours=2): a message of 榕江县 drafted and submitted by its operator."""

    def make(status: str = Status.EXERCISE, hours: float = 2) -> Alert:
        now = timezone.now()
        fields = AlertFields(
            status=status, event_code="11B03", severity=2, title="暴雨橙色预警", text="预计今天有大暴雨，请做好防范。",
            onset=now, expires=now + timedelta(hours=hours), targets=[rongjiang],
        )  # fmt: skip
        alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields)
        return alert_submit(actor=county_station_operator, alert=alert)

    return make


@pytest.fixture(autouse=True)
def _run_dir(settings: Any, tmp_path: Any) -> None:
    """The SMS stand-in's log goes to this test's own RUN_DIR."""
    settings.RUN_DIR = tmp_path
