"""Storing receipts: one statement per batch (arrays on PostgreSQL), each (terminal, event) once."""

from datetime import UTC, datetime

from ruralcast.alerts.models import Alert, Receipt
from ruralcast.alerts.services import ReceiptIn, receipts_store

T1, T2 = "5226321001010000000001A", "5226321001010000000002A"


def _stored(alert: Alert) -> list[tuple[str, str, str, datetime | None]]:
    rows = Receipt.objects.filter(alert=alert).order_by("terminal_code", "event")
    return list(rows.values_list("terminal_code", "event", "reason", "device_at"))


def test_a_batch_is_stored_once_per_terminal_and_event_with_its_device_times(drafted: Alert) -> None:
    at = datetime(2026, 11, 27, 4, 0, 0, 123000, tzinfo=UTC)
    offered = receipts_store(
        [
            ReceiptIn(terminal_code=T1, ebm_id=drafted.ebm_id, event="received", device_at=at),
            ReceiptIn(terminal_code=T1, ebm_id=drafted.ebm_id, event="started", device_at=at),
            ReceiptIn(terminal_code=T1, ebm_id=drafted.ebm_id, event="started", device_at=at),  # delivered twice
            ReceiptIn(terminal_code=T2, ebm_id=drafted.ebm_id, event="rejected", reason="not_in_target"),
            ReceiptIn(terminal_code=T2, ebm_id="9" * 35, event="received"),  # no such message
            ReceiptIn(terminal_code=T2, ebm_id=drafted.ebm_id, event="exploded"),  # no such event
        ]
    )
    assert offered == 4
    assert _stored(drafted) == [
        (T1, "received", "", at),
        (T1, "started", "", at),
        (T2, "rejected", "not_in_target", None),
    ]
    stored_at = set(Receipt.objects.filter(alert=drafted).values_list("stored_at", flat=True))
    assert len(stored_at) == 1, "a batch is stored at one moment"


def test_a_receipt_delivered_again_in_a_later_batch_keeps_the_first_row(drafted: Alert) -> None:
    receipts_store([ReceiptIn(terminal_code=T1, ebm_id=drafted.ebm_id, event="finished", reason="")])
    first = Receipt.objects.get(alert=drafted, terminal_code=T1)
    receipts_store([ReceiptIn(terminal_code=T1, ebm_id=drafted.ebm_id, event="finished", reason="again")])
    assert list(Receipt.objects.filter(alert=drafted).values_list("pk", "reason")) == [(first.pk, "")]


def test_an_empty_or_unknown_batch_writes_nothing(drafted: Alert) -> None:
    assert receipts_store([]) == 0
    assert receipts_store([ReceiptIn(terminal_code=T1, ebm_id="9" * 35, event="received")]) == 0
    assert not Receipt.objects.exists()
