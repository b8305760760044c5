"""The life of an approved message: the chain's latest word can always be updated or cancelled until
it ends, a Cancel names every message of the chain, an alert not yet published can be stopped, and
nothing retained is left behind (issue 12, items 1–3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts.lifecycle import (
    alert_cancel,
    alert_mark_dispatched,
    alert_prepare_update,
    alerts_expire_due,
)
from ruralcast.alerts.models import Alert, MsgType, State
from ruralcast.alerts.payload import alert_payload
from ruralcast.alerts.services import OUTBOX_CLEAR, OUTBOX_DISPATCH, alert_edit
from ruralcast.alerts.tests.conftest import approve, dispatched, submitted
from ruralcast.alerts.wiring import _build_clear, _build_dispatch
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict
from ruralcast.messaging.models import OutboxMessage, OutboxState
from ruralcast.messaging.services import OutboxNotPending, outbox_prepare
from ruralcast.messaging.topics import region_topic
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def _update(live: Alert, operator: User, approver: User, **changes: object) -> Alert:
    """Prepare an Update of the chain, change it, and take it through approval and publication."""
    from ruralcast.alerts.services import AlertFields

    update = alert_prepare_update(actor=operator, alert=live)
    if changes:
        fields = AlertFields(
            status=update.status,
            event_code=update.event_code,
            severity=update.severity,
            title=update.title,
            text=update.text,
            onset=update.onset,
            expires=update.expires,
            targets=list(update.targets.all()),
        )
        for name, value in changes.items():
            setattr(fields, name, value)
        alert_edit(actor=operator, alert=update, fields=fields)
    return dispatched(update, operator, approver)


def _signed(message: Alert) -> dict[str, object]:
    message.refresh_from_db()
    return alert_payload(Alert.objects.select_related("references").get(pk=message.pk))


def test_an_updated_alert_can_be_cancelled_and_updated_again_until_it_expires(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    first = _update(live, county_station_operator, county_alert_approver, text="雨势加大，请立即转移。")
    live.refresh_from_db()
    assert (live.state, first.state) == (State.UPDATED, State.DISPATCHED)

    # Updated again, from the original's page as from the update's.
    second = _update(live, county_station_operator, county_alert_approver, text="雨势减弱，请留意后续通知。")
    first.refresh_from_db()
    assert (first.state, second.state) == (State.UPDATED, State.DISPATCHED)
    assert alert_prepare_update(actor=county_station_operator, alert=first).text == second.text  # the latest word

    # And cancelled, from any message of the chain.
    cancel = alert_cancel(actor=county_station_operator, alert=live)
    assert cancel.msg_type == MsgType.CANCEL and cancel.state == State.SUBMITTED
    assert alert_cancel(actor=county_station_operator, alert=second).pk == cancel.pk  # the one under way
    dispatched(cancel, county_station_operator, county_alert_approver)
    second.refresh_from_db()
    assert second.state == State.CANCELLED
    with pytest.raises(Conflict):
        alert_prepare_update(actor=county_station_operator, alert=second)


def test_a_cancel_names_the_original_and_every_update_of_the_chain(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    first = _update(live, county_station_operator, county_alert_approver, text="第一次更新。")
    second = _update(live, county_station_operator, county_alert_approver, text="第二次更新。")
    # An update names every earlier message of the chain, so a terminal drops whichever it holds.
    assert _signed(first)["references"] == [live.ebm_id]
    assert _signed(second)["references"] == [live.ebm_id, first.ebm_id]

    cancel = approve(alert_cancel(actor=county_station_operator, alert=second), county_alert_approver)
    assert _signed(cancel)["references"] == [live.ebm_id, first.ebm_id, second.ebm_id]
    # All of it travels on the original's topics, which the Cancel replaces.
    assert {m.topic for m in _build_dispatch(cancel.ebm_id)} == {
        region_topic(code, live.ebm_id) for code in live.targets.values_list("code", flat=True)
    }


def test_the_end_of_an_update_clears_every_retained_topic_of_the_chain(
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    zhongcheng: Region,
    fields_for: object,
) -> None:
    from ruralcast.alerts.services import alert_create

    original = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields_for([guzhou, zhongcheng]),  # type: ignore[operator]
    )
    live = dispatched(original, county_station_operator, county_alert_approver)
    # The update drops 忠诚镇: its publication empties that region's retained copy of the original.
    update = _update(live, county_station_operator, county_alert_approver, targets=[guzhou])
    outgoing = _build_dispatch(update.ebm_id)
    assert [(m.topic, m.payload is None) for m in outgoing] == [
        (region_topic(guzhou.code, live.ebm_id), False),
        (region_topic(zhongcheng.code, live.ebm_id), True),
    ]

    assert alerts_expire_due(now=update.expires + timedelta(seconds=1)) == 1
    update.refresh_from_db()
    assert update.state == State.EXPIRED
    clear = OutboxMessage.objects.get(kind=OUTBOX_CLEAR, key=update.ebm_id)  # queued when the update ended
    assert {(m.topic, m.payload) for m in _build_clear(clear.key)} == {
        (region_topic(guzhou.code, live.ebm_id), None),
        (region_topic(zhongcheng.code, live.ebm_id), None),
    }


def test_a_dispatched_cancel_stays_retained_until_its_end_then_the_chain_is_cleared(
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    fields_for: object,
) -> None:
    from ruralcast.alerts.services import alert_create

    soon = timezone.now() + timedelta(minutes=10)
    fields = fields_for([guzhou], expires=soon)  # type: ignore[operator]
    live = dispatched(
        alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields),
        county_station_operator,
        county_alert_approver,
    )
    cancel = dispatched(
        alert_cancel(actor=county_station_operator, alert=live), county_station_operator, county_alert_approver
    )
    live.refresh_from_db()
    assert live.state == State.CANCELLED
    assert cancel.expires >= timezone.now() + timedelta(minutes=29), "a cancel outlives what it cancels"

    # Until the Cancel ends, a terminal that reconnects reads it on the retained topic.
    assert alerts_expire_due(now=live.expires + timedelta(seconds=1)) == 0
    assert not OutboxMessage.objects.filter(kind=OUTBOX_CLEAR).exists()
    assert alerts_expire_due(now=cancel.expires + timedelta(seconds=1)) == 1
    cancel.refresh_from_db()
    assert cancel.state == State.EXPIRED
    assert [m.topic for m in _build_clear(OutboxMessage.objects.get(kind=OUTBOX_CLEAR).key)] == [
        region_topic(guzhou.code, live.ebm_id)
    ]


def test_an_approved_alert_not_yet_published_is_withdrawn_and_never_sent(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    approve(submitted(drafted, county_station_operator), county_alert_approver)
    row = OutboxMessage.objects.get(kind=OUTBOX_DISPATCH, key=drafted.ebm_id)
    picked = OutboxMessage.objects.get(pk=row.pk)  # a dispatcher read it before the click

    stopped = alert_cancel(actor=county_station_operator, alert=drafted)
    assert stopped.pk == drafted.pk and stopped.state == State.WITHDRAWN
    assert not Alert.objects.filter(msg_type=MsgType.CANCEL).exists(), "nothing went out: nothing to cancel"
    row.refresh_from_db()
    assert row.state == OutboxState.WITHDRAWN
    with pytest.raises(OutboxNotPending):
        outbox_prepare(message=picked, sign=lambda payload: b"never signed")
    row.refresh_from_db()
    assert row.prepared_at is None and row.messages == []
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"outbox.withdraw", "alert.withdraw"} <= verbs
    with pytest.raises(Conflict):
        alert_cancel(actor=county_station_operator, alert=drafted)  # nothing left to stop


def test_an_alert_whose_bytes_may_be_out_is_stopped_and_cancelled_in_every_region(
    county_station_operator: User, county_alert_approver: User, drafted: Alert, village_terminals: list
) -> None:
    """The broker went down half-way: some regions may have the alert. They all get the Cancel."""
    from ruralcast.signing.services import payload_sign, signing_key_generate

    signing_key_generate(actor=None)
    approve(submitted(drafted, county_station_operator), county_alert_approver)
    row = OutboxMessage.objects.get(kind=OUTBOX_DISPATCH, key=drafted.ebm_id)
    outbox_prepare(message=row, sign=lambda payload: payload_sign(payload=payload))  # bytes stored, sent in part

    cancel = alert_cancel(actor=county_station_operator, alert=drafted)
    drafted.refresh_from_db()
    row.refresh_from_db()
    assert row.state == OutboxState.WITHDRAWN
    assert drafted.state == State.DISPATCHED, "treated as on air somewhere"
    assert drafted.targeted_terminals == len(village_terminals) and drafted.terminals_recorded_at is not None
    assert cancel.msg_type == MsgType.CANCEL and cancel.state == State.SUBMITTED
    assert set(cancel.targets.values_list("code", flat=True)) == set(drafted.targets.values_list("code", flat=True))
    # The withdrawn row is never tried again, even though its bytes exist.
    with pytest.raises(OutboxNotPending):
        outbox_prepare(message=row, sign=lambda payload: b"")
    # The Cancel goes out like any other and closes the alert.
    dispatched(cancel, county_station_operator, county_alert_approver)
    drafted.refresh_from_db()
    assert drafted.state == State.CANCELLED


def test_an_update_waits_while_another_message_of_its_chain_is_being_sent(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    """An update approved behind another one still in the outbox could overtake it on the topic."""
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    first = submitted(alert_prepare_update(actor=county_station_operator, alert=live), county_station_operator)
    stale = submitted(alert_prepare_update(actor=county_station_operator, alert=live), county_station_operator)
    approve(first, county_alert_approver)  # queued, not yet published
    with pytest.raises(Conflict, match=first.ebm_id):
        approve(stale, county_alert_approver)
    alert_mark_dispatched(ebm_id=first.ebm_id)
    with pytest.raises(Conflict):
        approve(stale, county_alert_approver)  # prepared before `first` went out: older words


def test_expiry_waits_for_a_message_of_the_chain_still_in_the_outbox(
    county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    update = approve(
        submitted(alert_prepare_update(actor=county_station_operator, alert=live), county_station_operator),
        county_alert_approver,
    )
    assert alerts_expire_due(now=live.expires + timedelta(seconds=1)) == 0
    assert not OutboxMessage.objects.filter(kind=OUTBOX_CLEAR).exists(), "a clear would overtake the update"
    alert_mark_dispatched(ebm_id=update.ebm_id)
    live.refresh_from_db()
    assert live.state == State.UPDATED


def test_expiry_without_anything_in_force_is_a_no_op(drafted: Alert) -> None:
    assert alerts_expire_due(now=timezone.now() + timedelta(days=30)) == 0
