"""The ingest worker: uplinks checked against their topic, written in batches by registered handlers."""

import json
import time
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from ruralcast.messaging.client import Publication
from ruralcast.messaging.handlers import Uplink, register_uplink_handler
from ruralcast.messaging.ingest import IngestStats, IngestWorker, ingest_batch
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.messaging.topics import uplink_topic
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db

EBM = "45226320000000101010101202611270001"
T1 = "65226321000010314010401"
T2 = "65226321000020314010401"


class ReceiptWriter:
    """A test handler that writes each batch with one bulk insert (into a table this app owns)."""

    def __init__(self, *, poison: str | None = None) -> None:
        self.batches: list[list[Uplink]] = []
        self.poison = poison

    def __call__(self, items: list[Uplink]) -> None:
        if self.poison and any(item.payload.get("event") == self.poison for item in items):
            raise IntegrityError("this item can never be written")
        self.batches.append(items)
        OutboxMessage.objects.bulk_create(
            [
                OutboxMessage(kind="test.receipt", key=f"{i.terminal}:{i.payload['ebm_id']}:{i.payload['event']}")
                for i in items
            ],
            ignore_conflicts=True,  # at-least-once delivery: a repeated receipt is written once
        )


def receipt(terminal: str, event: str = "received", **extra: Any) -> bytes:
    body = {"terminal": terminal, "ebm_id": EBM, "event": event, "at": "2026-11-27T12:00:00.123+08:00", **extra}
    return json.dumps(body).encode()


def raw(topic: str, payload: bytes) -> tuple[str, bytes, Any]:
    return topic, payload, timezone.now()


def written() -> list[str]:
    return sorted(OutboxMessage.objects.filter(kind="test.receipt").values_list("key", flat=True))


@pytest.fixture
def receipts(uplink_handlers: None) -> ReceiptWriter:
    writer = ReceiptWriter()
    register_uplink_handler("receipt", writer)
    return writer


def test_a_batch_is_checked_grouped_and_written_by_its_handler(receipts: ReceiptWriter) -> None:
    stats = ingest_batch(
        [
            raw(uplink_topic(T1, "receipt"), receipt(T1)),
            raw(uplink_topic(T1, "receipt"), receipt(T1, "started")),
            raw(uplink_topic(T2, "receipt"), receipt(T2)),
            raw(uplink_topic(T2, "receipt"), receipt(T2)),  # delivered twice: written once
            raw(uplink_topic(T1, "receipt"), receipt(T2, "finished")),  # names another terminal
            raw(uplink_topic(T1, "receipt"), b"not json"),
            raw(uplink_topic(T1, "receipt"), b"[1, 2]"),
            raw("rc/v1/up/receipt", receipt(T1)),
            raw(uplink_topic(T1, "status"), b'{"online": false}'),  # nobody handles status yet
        ]
    )
    assert stats == IngestStats(received=9, written=4, mismatched=1, malformed=3, unhandled=1, failed=0)
    assert len(receipts.batches) == 1, "one call per kind and batch"
    assert written() == [f"{T1}:{EBM}:received", f"{T1}:{EBM}:started", f"{T2}:{EBM}:received"]


def test_an_uplink_without_a_terminal_field_belongs_to_its_topics_terminal(receipts: ReceiptWriter) -> None:
    ingest_batch([raw(uplink_topic(T1, "receipt"), json.dumps({"ebm_id": EBM, "event": "failed"}).encode())])
    assert receipts.batches[0][0].terminal == T1


def test_an_item_its_handler_can_never_write_is_dropped_and_the_rest_of_the_batch_kept(
    uplink_handlers: None,
) -> None:
    writer = ReceiptWriter(poison="cancelled")
    register_uplink_handler("receipt", writer)
    messages = [raw(uplink_topic(T1, "receipt"), receipt(T1, event)) for event in ("received", "started", "finished")]
    messages.insert(1, raw(uplink_topic(T2, "receipt"), receipt(T2, "cancelled")))
    stats = ingest_batch(messages)
    assert stats.written == 3 and stats.failed == 1
    assert written() == [f"{T1}:{EBM}:{event}" for event in ("finished", "received", "started")]


def test_the_worker_writes_what_terminals_publish_in_batches(
    broker: Broker, terminal: Registration, other_terminal: Registration, receipts: ReceiptWriter, listen: Any
) -> None:
    broker.sync()
    me, other = terminal.terminal.code, other_terminal.terminal.code
    worker = IngestWorker(batch_seconds=0.1)
    worker.link.start(wait=5.0)  # subscribed before the terminal publishes
    sender, _ = listen([], username=me, password=terminal.password, client_id=me)
    events = [f"e{n}" for n in range(50)]
    sender.publish_all([Publication(uplink_topic(me, "receipt"), receipt(me, event)) for event in events])
    sender.publish_all([Publication(uplink_topic(me, "receipt"), receipt(other, "forged"))])

    stats = worker.run(until=lambda: worker.stats.received >= 51, deadline=time.monotonic() + 10)
    assert stats.written == 50 and stats.mismatched == 1
    assert written() == sorted(f"{me}:{EBM}:{event}" for event in events)
    assert len(receipts.batches) < 10, "batched, not one write per receipt"


def test_the_worker_keeps_receipts_sent_while_it_was_down(
    broker: Broker, terminal: Registration, receipts: ReceiptWriter, listen: Any
) -> None:
    """Its session is persistent: the broker holds QoS 1 uplinks until the worker is back."""
    broker.sync()
    me = terminal.terminal.code
    first = IngestWorker(client_id="test-ingest")
    first.link.start(wait=5.0)
    first.link.stop()  # the worker stops (its subscriptions stay with the broker)

    sender, _ = listen([], username=me, password=terminal.password, client_id=me)
    sender.publish_all([Publication(uplink_topic(me, "receipt"), receipt(me, "finished"))])

    again = IngestWorker(client_id="test-ingest", batch_seconds=0.05)
    stats = again.run(until=lambda: again.stats.written >= 1, deadline=time.monotonic() + 5)
    assert stats.written == 1
    assert written() == [f"{me}:{EBM}:finished"]
