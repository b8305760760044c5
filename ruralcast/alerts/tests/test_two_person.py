"""The two-person rule met by two persons (issue 12, item 4): the approver wrote no version of the
message, approves exactly the version they were shown, and sees recent grants of alert roles."""

from collections.abc import Callable

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import api_token_create, role_grant
from ruralcast.alerts.models import Alert, AlertContributor, Contribution, State
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.services import AlertFields, alert_approve, alert_edit, alert_reject
from ruralcast.alerts.tests.conftest import submitted
from ruralcast.core.errors import Conflict, PermissionDenied
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_and_approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    """A colleague who may draft and approve in the county (two roles)."""
    user = make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="both-hats")
    role_grant(actor=None, user=user, role=Role.ALERT_APPROVER, region=rongjiang)
    return user


def _fields(alert: Alert, **changes: object) -> AlertFields:
    fields = AlertFields(
        status=alert.status,
        event_code=alert.event_code,
        severity=alert.severity,
        title=alert.title,
        text=alert.text,
        onset=alert.onset,
        expires=alert.expires,
        targets=list(alert.targets.all()),
    )
    for name, value in changes.items():
        setattr(fields, name, value)
    return fields


def test_a_colleague_who_rewrote_someone_elses_draft_cannot_approve_it(
    county_station_operator: User, operator_and_approver: User, drafted: Alert
) -> None:
    alert_edit(actor=operator_and_approver, alert=drafted, fields=_fields(drafted, text="改写后的内容。"))
    submitted(drafted, county_station_operator)  # the author submits the rewritten text
    with pytest.raises(PermissionDenied):
        alert_approve(
            approver=operator_and_approver,
            alert=drafted,
            confirm_status=drafted.status,
            version=content_version(drafted),
        )
    assert not OutboxMessage.objects.exists()
    assert set(AlertContributor.objects.filter(alert=drafted).values_list("user__username", "contribution")) == {
        (county_station_operator.username, Contribution.CREATED),
        (county_station_operator.username, Contribution.SUBMITTED),
        (operator_and_approver.username, Contribution.EDITED),
    }


def test_someone_who_only_submitted_a_version_cannot_approve_it_either(
    county_station_operator: User, operator_and_approver: User, county_alert_approver: User, drafted: Alert
) -> None:
    submitted(drafted, operator_and_approver)
    alert_reject(approver=county_alert_approver, alert=drafted, reason="请补充地点")
    submitted(drafted, county_station_operator)  # the last submitter is the author now
    drafted.refresh_from_db()
    assert drafted.submitted_by_id == county_station_operator.pk
    with pytest.raises(PermissionDenied):
        alert_approve(
            approver=operator_and_approver,
            alert=drafted,
            confirm_status=drafted.status,
            version=content_version(drafted),
        )


def test_approval_names_the_version_seen_and_a_changed_alert_is_refused_with_409(
    client: Client, county_station_operator: User, county_alert_approver: User, make_user: Callable[..., User],
    rongjiang: Region, drafted: Alert,
) -> None:  # fmt: skip
    submitted(drafted, county_station_operator)
    seen = content_version(drafted)  # the approver's page loads
    # Meanwhile a second approver sends it back, the author rewrites it and submits again.
    other = make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="other-approver")
    alert_reject(approver=other, alert=drafted, reason="写清楚转移地点")
    alert_edit(actor=county_station_operator, alert=drafted, fields=_fields(drafted, text="请向县一中转移。"))
    submitted(drafted, county_station_operator)
    assert content_version(drafted) != seen

    with pytest.raises(Conflict, match=r"review it again|请重新审核"):
        alert_approve(approver=county_alert_approver, alert=drafted, confirm_status=drafted.status, version=seen)

    _token, secret = api_token_create(user=county_alert_approver, name="test")
    answer = client.post(
        f"/api/v1/alerts/{drafted.ebm_id}/approve",
        {"confirm_status": drafted.status, "version": seen},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"

    client.force_login(county_alert_approver)
    page = client.get(f"/alerts/{drafted.ebm_id}/").content.decode()
    assert f'name="version" value="{content_version(drafted)}"' in page  # the screen carries what it shows
    after = client.post(
        f"/alerts/{drafted.ebm_id}/approve/", {"confirm_status": drafted.status, "version": seen}, follow=True
    )
    assert "请重新审核" in after.content.decode()
    drafted.refresh_from_db()
    assert drafted.state == State.SUBMITTED
    assert not OutboxMessage.objects.exists()

    client.post(
        f"/alerts/{drafted.ebm_id}/approve/", {"confirm_status": drafted.status, "version": content_version(drafted)}
    )
    drafted.refresh_from_db()
    assert drafted.state == State.APPROVED


def test_the_version_covers_the_audio_the_approver_heard(county_station_operator: User, drafted: Alert) -> None:
    submitted(drafted, county_station_operator)
    before = content_version(drafted)
    Alert.objects.filter(pk=drafted.pk).update(audio_sha256="f" * 64)
    drafted.refresh_from_db()
    assert content_version(drafted) != before


def test_recent_grants_of_alert_roles_are_shown_on_the_approval_screen(
    client: Client,
    county_bureau_admin: User,
    make_user: Callable[..., User],
    rongjiang: Region,
    drafted: Alert,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bureau administrator makes a puppet author and a fresh approver: both grants show."""
    from datetime import timedelta

    from ruralcast.alerts import selectors
    from ruralcast.alerts.services import alert_create

    puppet = make_user(username="puppet-author", home_region=rongjiang)
    role_grant(actor=county_bureau_admin, user=puppet, role=Role.STATION_OPERATOR, region=rongjiang)
    approver = make_user(username="fresh-approver", home_region=rongjiang)
    role_grant(actor=county_bureau_admin, user=approver, role=Role.ALERT_APPROVER, region=rongjiang)
    role_grant(actor=county_bureau_admin, user=approver, role=Role.VIEWER, region=rongjiang)  # not an alert role

    alert = alert_create(actor=puppet, issuer_region=rongjiang, fields=_fields(drafted))
    submitted(alert, puppet)
    client.force_login(approver)
    page = client.get(f"/alerts/{alert.ebm_id}/").content.decode()
    assert "data-recent-grants" in page
    section = page[page.index("data-recent-grants") :]
    assert section.count(county_bureau_admin.username) == 2
    assert "puppet-author" in section and "fresh-approver" in section
    assert "分钟前" in section or "分钟" in section  # "granted 0 minutes ago"

    # Grants older than the window are not shown (audit events cannot be backdated: shrink the window).
    monkeypatch.setattr(selectors, "RECENT_GRANTS", timedelta(0))
    assert "data-recent-grants" not in client.get(f"/alerts/{alert.ebm_id}/").content.decode()
