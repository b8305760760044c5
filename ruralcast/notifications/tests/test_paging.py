"""An alert waiting for approval pages the approvers on duty and escalates until someone acts
(audit item 26). The alert services are the real ones; time moves by passing `now`."""

import os
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts.models import Alert, Status
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.services import alert_approve, alert_reject
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied
from ruralcast.notifications.kinds import WARNING_APPROVAL
from ruralcast.notifications.models import Channel, Escalation, EscalationState, Notification, Tier
from ruralcast.notifications.paging import duty_page, duty_page_claim, escalations_run
from ruralcast.notifications.services import contact_update

pytestmark = pytest.mark.django_db


def paged(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


def verbs() -> list[str]:
    """The paging verbs of the audit trail, in order (roster changes left out)."""
    events = AuditEvent.objects.filter(verb__startswith="duty.").exclude(verb__startswith="duty.slot")
    return list(events.order_by("seq").values_list("verb", flat=True))


@pytest.fixture
def county_roster(roster, rongjiang, county_alert_approver, backup_approver):  # type: ignore[no-untyped-def]
    """榕江县: the approver on duty (tier 1), the backup (tier 2), all week, all day."""
    roster(rongjiang, county_alert_approver, Tier.FIRST)
    roster(rongjiang, backup_approver, Tier.SECOND)
    contact_update(
        actor=county_alert_approver, user=county_alert_approver, phone="+86 000 0000 0001",
        email="approver@example.invalid", sms_enabled=True, email_enabled=True,
    )  # fmt: skip


def test_a_submitted_drill_pages_the_approver_on_duty_and_never_its_author(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], county_alert_approver, backup_approver, county_station_operator
) -> None:
    alert = submit(Status.EXERCISE)
    [page] = Notification.objects.filter(recipient=county_alert_approver)
    assert page.kind == "approval.alert" and alert.title in page.title and page.title.startswith("【演练】")
    assert page.url == f"/alerts/{alert.ebm_id}/" and not page.urgent
    # A drill: console and e-mail, no SMS.
    assert sorted(page.deliveries.values_list("channel", flat=True)) == [Channel.CONSOLE, Channel.EMAIL]
    assert paged(backup_approver) == [] and paged(county_station_operator) == []
    escalation = Escalation.objects.get(subject_id=alert.ebm_id)
    assert escalation.state == EscalationState.OPEN and escalation.interval_seconds == 30 * 60
    assert verbs() == ["duty.page_open", "duty.page"]


def test_a_live_alert_pages_by_sms_too_and_the_next_tier_after_five_minutes(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], county_alert_approver, backup_approver
) -> None:
    alert = submit(Status.ACTUAL)
    page = Notification.objects.get(recipient=county_alert_approver)
    assert page.urgent and set(page.deliveries.values_list("channel", flat=True)) == {"console", "email", "sms"}
    now = timezone.now()
    assert escalations_run(now=now + timedelta(minutes=4, seconds=50)).escalated == 0
    assert paged(backup_approver) == []
    assert escalations_run(now=now + timedelta(minutes=5, seconds=5)).escalated == 1
    assert paged(backup_approver) == ["approval.escalated"]
    escalated = Notification.objects.get(recipient=backup_approver)
    assert alert.title in escalated.title and "5" in escalated.title
    assert verbs() == ["duty.page_open", "duty.page", "duty.escalate"]


def test_a_drill_waits_thirty_minutes_before_the_next_tier(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], backup_approver
) -> None:
    submit(Status.EXERCISE)
    now = timezone.now()
    assert escalations_run(now=now + timedelta(minutes=29)).escalated == 0
    assert escalations_run(now=now + timedelta(minutes=31)).escalated == 1
    assert paged(backup_approver) == ["approval.escalated"]


def test_approval_stops_the_paging(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], county_alert_approver, backup_approver
) -> None:
    alert = submit(Status.EXERCISE)
    alert_approve(
        approver=county_alert_approver, alert=alert, confirm_status=Status.EXERCISE, version=content_version(alert)
    )
    escalation = Escalation.objects.get(subject_id=alert.ebm_id)
    assert (escalation.state, escalation.outcome, escalation.closed_by) == ("closed", "approved", county_alert_approver)
    assert escalations_run(now=timezone.now() + timedelta(hours=3)).escalated == 0
    assert paged(backup_approver) == []


def test_a_rejection_stops_the_paging_and_tells_the_author_why(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], county_alert_approver, county_station_operator
) -> None:
    alert = submit(Status.EXERCISE)
    alert_reject(approver=county_alert_approver, alert=alert, reason="降雨量数字有误")
    assert Escalation.objects.get(subject_id=alert.ebm_id).outcome == "rejected"
    [told] = Notification.objects.filter(recipient=county_station_operator)
    assert told.kind == "alert.sent_back" and "降雨量数字有误" in told.body and str(county_alert_approver) in told.body
    # Submitted again after the fix: a new page, the old one stays closed.
    from ruralcast.alerts.services import alert_submit

    alert_submit(actor=county_station_operator, alert=alert)
    assert Escalation.objects.filter(subject_id=alert.ebm_id).count() == 2
    assert paged(county_alert_approver) == ["approval.alert", "approval.alert"]


def test_someone_on_duty_taking_it_on_holds_the_next_tier_one_more_interval(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], county_alert_approver, backup_approver, county_station_operator
) -> None:
    alert = submit(Status.ACTUAL)
    escalation = Escalation.objects.get(subject_id=alert.ebm_id)
    with pytest.raises(PermissionDenied):
        duty_page_claim(actor=county_station_operator, escalation=escalation)  # may not approve
    opened = escalation.opened_at
    duty_page_claim(actor=county_alert_approver, escalation=escalation, now=opened + timedelta(minutes=4))
    assert escalations_run(now=opened + timedelta(minutes=6)).escalated == 0  # unclaimed, tier 2 would be paged now
    assert paged(backup_approver) == []
    report = escalations_run(now=opened + timedelta(minutes=9, seconds=1))  # claimed, but still not approved
    assert (report.escalated, report.claims_lapsed) == (1, 1)
    assert paged(backup_approver) == ["approval.escalated"]
    assert "duty.claim_lapsed" in verbs()


def test_each_step_is_paged_once_however_often_the_job_runs(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], backup_approver
) -> None:
    submit(Status.ACTUAL)
    later = timezone.now() + timedelta(minutes=6)
    assert escalations_run(now=later).escalated == 1
    assert escalations_run(now=later).escalated == 0
    assert paged(backup_approver) == ["approval.escalated"]


def test_when_nobody_is_left_to_page_the_escalation_stops_and_says_so(  # type: ignore[no-untyped-def]
    roster, rongjiang, county_alert_approver, submit: Callable[..., Alert]
) -> None:
    roster(rongjiang, county_alert_approver)  # nobody else may approve: no city approver, no admin
    alert = submit(Status.ACTUAL)
    report = escalations_run(now=timezone.now() + timedelta(minutes=6))
    assert (report.escalated, report.exhausted) == (0, 1)
    escalation = Escalation.objects.get(subject_id=alert.ebm_id)
    assert escalation.next_at is None and escalation.state == EscalationState.OPEN  # still waiting, visibly
    assert verbs()[-1] == "duty.exhausted"


def test_an_alert_past_its_end_is_no_longer_paged(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], backup_approver
) -> None:
    alert = submit(Status.EXERCISE, hours=0.25)
    report = escalations_run(now=timezone.now() + timedelta(minutes=31))
    assert (report.expired, report.escalated) == (1, 0)
    assert Escalation.objects.get(subject_id=alert.ebm_id).outcome == "expired"
    assert paged(backup_approver) == []


def test_a_page_is_rolled_back_with_the_change_that_made_it(county_roster, rongjiang) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        duty_page(subject_type="x", subject_id="1", region=rongjiang, kind="approval.alert", params={"title": "t"})
        _ = 1 / 0
    assert not Escalation.objects.exists() and not Notification.objects.exists()


def test_an_imported_warning_pages_the_people_on_duty_through_the_same_call(  # type: ignore[no-untyped-def]
    county_roster, rongjiang, county_alert_approver
) -> None:
    with transaction.atomic():
        duty_page(
            subject_type="cap.warning", subject_id="urn:oid:2.49.0.1.156.0.2026.3.2.1", region=rongjiang,
            kind=WARNING_APPROVAL.code, params={"title": "暴雨蓝色预警", "by": "黔东南州气象台", "region": rongjiang.name},
            urgent=True, action=Action.ALERT_APPROVE,
        )  # fmt: skip
    [page] = Notification.objects.filter(recipient=county_alert_approver)
    assert page.title == "待审核的外部预警：暴雨蓝色预警" and "黔东南州气象台" in page.body


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL row locks")
def test_two_job_processes_at_once_page_each_step_once(  # type: ignore[no-untyped-def]
    county_roster, submit: Callable[..., Alert], backup_approver
) -> None:
    """Two `notifications_run` at the same moment (two machines): the conditional UPDATE on the
    escalation row lets one of them page the step; the other finds it moved on."""
    submit(Status.ACTUAL)
    later = timezone.now() + timedelta(minutes=6)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(escalations_run(now=later).escalated)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [0, 1]
    assert paged(backup_approver) == ["approval.escalated"]
