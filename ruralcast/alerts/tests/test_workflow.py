"""The two-person workflow of an emergency message, with the Hawaii lessons as rules."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts import ids
from ruralcast.alerts.lifecycle import alert_cancel, alert_mark_dispatched, alert_prepare_update, alerts_expire_due
from ruralcast.alerts.models import Alert, MsgType, State, Status
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.services import (
    AlertFields,
    alert_approve,
    alert_create,
    alert_reject,
    alert_submit,
)
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def _submitted(alert: Alert, actor: User) -> Alert:
    """Submit without synthesising speech (the speech app has its own tests): give it audio first."""
    alert.audio_sha256, alert.audio_name, alert.audio_bytes = "0" * 64, "alerts/audio/none.mp3", 0
    alert.save()
    return alert_submit(actor=actor, alert=alert)


def test_a_drafted_message_gets_a_35_digit_ebm_id_from_its_platform_code(drafted: Alert, rongjiang: Region) -> None:
    assert drafted.sender_code == "4" + rongjiang.code + "0101010101"
    assert len(drafted.sender_code) == 23
    assert len(drafted.ebm_id) == 35
    assert drafted.ebm_id.startswith(drafted.sender_code + timezone.localdate().strftime("%Y%m%d"))
    assert drafted.cap_id.endswith(drafted.ebm_id)


def test_ebm_sequence_counts_up_per_platform_and_day(rongjiang: Region) -> None:
    sender = ids.platform_code(rongjiang)
    day = timezone.localdate()
    first, second = ids.next_ebm_id(sender_code=sender, day=day), ids.next_ebm_id(sender_code=sender, day=day)
    assert int(second[-4:]) == int(first[-4:]) + 1


def test_the_author_cannot_approve_their_own_message(county_station_operator: User, drafted: Alert) -> None:
    _submitted(drafted, county_station_operator)
    with pytest.raises(PermissionDenied):
        alert_approve(
            approver=county_station_operator,
            alert=drafted,
            confirm_status=drafted.status,
            version=content_version(drafted),
        )
    drafted.refresh_from_db()
    assert drafted.state == State.SUBMITTED


def test_an_approver_without_scope_over_every_target_cannot_approve(
    county_station_operator: User, township_approver: User, drafted: Alert
) -> None:
    _submitted(drafted, county_station_operator)
    with pytest.raises(PermissionDenied):
        alert_approve(
            approver=township_approver, alert=drafted, confirm_status=drafted.status, version=content_version(drafted)
        )
    assert not OutboxMessage.objects.filter(key=drafted.ebm_id).exists()


def test_approval_requires_confirming_the_status_live_or_drill(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    _submitted(drafted, county_station_operator)
    with pytest.raises(ValidationError) as error:
        alert_approve(
            approver=county_alert_approver,
            alert=drafted,
            confirm_status=Status.ACTUAL,
            version=content_version(drafted),
        )
    assert "confirm_status" in error.value.fields
    drafted.refresh_from_db()
    assert drafted.state == State.SUBMITTED


def test_approval_writes_the_outbox_row_in_the_same_transaction_and_is_audited(
    county_station_operator: User, county_alert_approver: User, drafted: Alert, village_terminals: list
) -> None:
    _submitted(drafted, county_station_operator)
    alert_approve(
        approver=county_alert_approver, alert=drafted, confirm_status=drafted.status, version=content_version(drafted)
    )
    drafted.refresh_from_db()
    assert drafted.state == State.APPROVED
    assert drafted.targeted_terminals == len(village_terminals)
    assert OutboxMessage.objects.filter(kind="alert.dispatch", key=drafted.ebm_id).count() == 1
    verbs = list(
        AuditEvent.objects.filter(object_type="alerts.alert", object_id=str(drafted.pk)).values_list("verb", flat=True)
    )
    assert {"alert.create", "alert.submit", "alert.approve"} <= set(verbs)


def test_targets_outside_the_issuing_platform_are_refused(
    county_station_operator: User, rongjiang: Region, congjiang: Region, fields_for: Callable[..., AlertFields]
) -> None:
    with pytest.raises(PermissionDenied):
        alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([congjiang]))
    assert not Alert.objects.exists()


def test_bad_fields_are_reported_by_name_and_nothing_is_written(
    county_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]
) -> None:
    now = timezone.now()
    fields = fields_for([rongjiang], severity=7, event_code="ZZZZZ", expires=now - timedelta(minutes=1), title="")
    with pytest.raises(ValidationError) as error:
        alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields)
    assert {"severity", "event_code", "expires", "title"} <= set(error.value.fields)
    assert not Alert.objects.exists()


def test_a_township_operator_cannot_issue_for_the_county(
    township_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]
) -> None:
    with pytest.raises(PermissionDenied):
        alert_create(actor=township_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))


def test_a_message_sent_back_becomes_an_editable_draft_with_the_reason(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    _submitted(drafted, county_station_operator)
    alert_reject(approver=county_alert_approver, alert=drafted, reason="时间写错了")
    drafted.refresh_from_db()
    assert drafted.state == State.DRAFT
    assert drafted.rejection_reason == "时间写错了"


def _dispatched(alert: Alert, operator: User, approver: User) -> Alert:
    _submitted(alert, operator)
    alert_approve(approver=approver, alert=alert, confirm_status=alert.status, version=content_version(alert))
    alert_mark_dispatched(ebm_id=alert.ebm_id)
    alert.refresh_from_db()
    return alert


def test_cancel_is_one_call_and_travels_the_same_two_person_path(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = _dispatched(drafted, county_station_operator, county_alert_approver)
    cancel = alert_cancel(actor=county_station_operator, alert=live)
    assert cancel.msg_type == MsgType.CANCEL
    assert cancel.references_id == live.pk
    assert cancel.state == State.SUBMITTED
    # A second click returns the cancel under way instead of preparing another one.
    assert alert_cancel(actor=county_station_operator, alert=live).pk == cancel.pk
    with pytest.raises(PermissionDenied):
        alert_approve(
            approver=county_station_operator,
            alert=cancel,
            confirm_status=cancel.status,
            version=content_version(cancel),
        )
    alert_approve(
        approver=county_alert_approver, alert=cancel, confirm_status=cancel.status, version=content_version(cancel)
    )
    alert_mark_dispatched(ebm_id=cancel.ebm_id)
    live.refresh_from_db()
    assert live.state == State.CANCELLED


def test_an_update_is_prepared_as_a_draft_of_the_latest_word(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = _dispatched(drafted, county_station_operator, county_alert_approver)
    update = alert_prepare_update(actor=county_station_operator, alert=live)
    assert update.msg_type == MsgType.UPDATE and update.state == State.DRAFT
    assert update.title == live.title and update.references_id == live.pk
    assert set(update.targets.values_list("code", flat=True)) == set(live.targets.values_list("code", flat=True))


def test_only_a_dispatched_alert_can_be_cancelled(county_station_operator: User, drafted: Alert) -> None:
    with pytest.raises(Conflict):
        alert_cancel(actor=county_station_operator, alert=drafted)


def test_expired_alerts_are_closed_and_their_retained_messages_cleared(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = _dispatched(drafted, county_station_operator, county_alert_approver)
    closed = alerts_expire_due(now=live.expires + timedelta(seconds=1))
    live.refresh_from_db()
    assert closed == 1 and live.state == State.EXPIRED
    assert OutboxMessage.objects.filter(kind="alert.clear", key=live.ebm_id).exists()
