"""The outbox: enqueue inside the caller's transaction, idempotent; prepare once; retry and fail."""

import base64
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ruralcast.messaging.dispatcher import WakeListener
from ruralcast.messaging.models import OutboxMessage, OutboxState
from ruralcast.messaging.services import (
    MAX_ATTEMPTS,
    OUTBOX_CHANNEL,
    OutboxBuildError,
    Outgoing,
    outbox_attempt_failed,
    outbox_enqueue,
    outbox_mark_published,
    outbox_prepare,
    outbox_retry,
    outbox_wake_register,
    register_outbox_handler,
)
from ruralcast.messaging.topics import region_topic

pytestmark = pytest.mark.django_db

EBM = "4522632000000010101010120261127" + "0001"


class Counter:
    def __init__(self) -> None:
        self.built: list[str] = []
        self.published: list[str] = []

    def build(self, key: str) -> list[Outgoing]:
        self.built.append(key)
        return [
            Outgoing(topic=region_topic("522632000000", key), payload={"kind": "test", "n": len(self.built)}),
            Outgoing(topic=region_topic("522633000000", key), payload=None),
        ]

    def on_published(self, key: str) -> None:
        self.published.append(key)


@pytest.fixture
def counter(outbox_handlers: None) -> Counter:
    counter = Counter()
    register_outbox_handler("test.alert", counter.build, counter.on_published)
    return counter


def signed(payload: dict[str, Any]) -> bytes:
    return b"sealed:" + repr(sorted(payload.items())).encode()


def test_enqueue_is_idempotent_for_the_same_kind_and_key() -> None:
    first = outbox_enqueue(kind="test.alert", key=EBM)
    assert outbox_enqueue(kind="test.alert", key=EBM) == first
    assert outbox_enqueue(kind="test.clear", key=EBM) != first
    assert OutboxMessage.objects.filter(key=EBM).count() == 2
    assert first.state == OutboxState.PENDING and first.messages == []


def test_enqueue_wakes_this_process_dispatcher_when_the_transaction_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    woken: list[bool] = []
    unregister = outbox_wake_register(lambda: woken.append(True))
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            outbox_enqueue(kind="test.alert", key=EBM)
            assert woken == [], "nothing happens before the commit"
        for callback in callbacks:
            callback()
        assert woken == [True]
    finally:
        unregister()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_enqueue_notifies_other_processes_on_postgresql() -> None:
    with CaptureQueriesContext(connection) as queries:
        outbox_enqueue(kind="test.alert", key=EBM)
    assert any(f"NOTIFY {OUTBOX_CHANNEL}" in query["sql"] for query in queries.captured_queries)


def test_outgoing_is_only_ever_a_concrete_downlink() -> None:
    for topic in ("rc/v1/up/123/receipt", "rc/v1/down/r/#", "rc/v1/down/r/+/x", "other/topic", "rc/v1/down/"):
        with pytest.raises(ValueError):
            Outgoing(topic=topic, payload={})
    with pytest.raises(ValueError):
        Outgoing(topic=region_topic("520000000000", EBM), payload={}, qos=2)


def test_prepare_signs_once_and_stores_the_exact_bytes(counter: Counter) -> None:
    message = outbox_enqueue(kind="test.alert", key=EBM)
    prepared = outbox_prepare(message=message, sign=signed)
    assert [item["topic"] for item in prepared] == [
        region_topic("522632000000", EBM),
        region_topic("522633000000", EBM),
    ]
    assert base64.b64decode(prepared[0]["payload_b64"]) == signed({"kind": "test", "n": 1})
    assert prepared[1]["payload_b64"] == "", "clearing a retained message is an empty, unsigned payload"
    assert all(item["retain"] and item["qos"] == 1 for item in prepared)

    # A later attempt (or a dispatcher restarted after a crash) gets the stored bytes, not new ones.
    again = OutboxMessage.objects.get(pk=message.pk)
    assert outbox_prepare(message=again, sign=lambda payload: b"different") == prepared
    assert counter.built == [EBM]


def test_mark_published_runs_on_published_once(counter: Counter) -> None:
    message = outbox_enqueue(kind="test.alert", key=EBM)
    outbox_prepare(message=message, sign=signed)
    assert outbox_mark_published(message=message)
    assert not outbox_mark_published(message=OutboxMessage.objects.get(pk=message.pk))
    message.refresh_from_db()
    assert message.state == OutboxState.PUBLISHED and message.published_at is not None
    assert message.attempts == 1
    assert counter.published == [EBM]


def test_a_failing_on_published_leaves_the_row_pending(outbox_handlers: None) -> None:
    def refuse(key: str) -> None:
        raise RuntimeError("alert row locked")

    register_outbox_handler("test.alert", lambda key: [], refuse)
    message = outbox_enqueue(kind="test.alert", key=EBM)
    outbox_prepare(message=message, sign=signed)
    with pytest.raises(RuntimeError):
        outbox_mark_published(message=message)
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.published_at is None


def test_a_row_without_handler_backs_off_then_fails_and_can_be_retried(outbox_handlers: None) -> None:
    message = outbox_enqueue(kind="test.unknown", key=EBM)
    with pytest.raises(OutboxBuildError):
        outbox_prepare(message=message, sign=signed)
    delays = []
    for _ in range(MAX_ATTEMPTS):
        outbox_attempt_failed(message=message, error="no handler", broker=False)
        delays.append((message.next_attempt_at - message.created_at).total_seconds())
    assert delays[:-1] == sorted(delays[:-1]) and delays[1] > delays[0] > 0
    message.refresh_from_db()
    assert message.state == OutboxState.FAILED and message.attempts == MAX_ATTEMPTS
    assert message.last_error == "no handler"

    outbox_retry(message=message)
    assert message.state == OutboxState.PENDING and message.attempts == 0


def test_broker_failures_never_fail_a_row_and_leave_it_due_at_once() -> None:
    message = outbox_enqueue(kind="test.alert", key=EBM)
    for _ in range(MAX_ATTEMPTS + 2):
        outbox_attempt_failed(message=message, error="broker: not connected", broker=True)
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING
    assert message.attempts == MAX_ATTEMPTS + 2
    assert message.next_attempt_at <= message.next_attempt_at.now(message.next_attempt_at.tzinfo)


def test_a_commit_nudges_a_dispatcher_in_another_process_through_its_wake_socket(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """SQLite has no NOTIFY: the enqueueing process sends a datagram the dispatcher listens for."""
    woken = threading.Event()
    listener = WakeListener(woken.set)
    assert listener.bound
    listener.start()
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            outbox_enqueue(kind="test.wake", key="k1")
        assert woken.wait(2.0)
    finally:
        listener.stop()
        listener.join(3)


def test_a_withdrawn_row_is_never_prepared_nor_published_even_by_a_dispatcher_that_picked_it(counter: Counter) -> None:
    from django.db import transaction

    from ruralcast.audit.models import AuditEvent
    from ruralcast.messaging.selectors import outbox_due
    from ruralcast.messaging.services import OutboxNotPending, outbox_withdraw

    message = outbox_enqueue(kind="test.alert", key=EBM)
    picked = outbox_due()[0]  # the dispatcher's read, before the withdrawal
    with transaction.atomic():
        found = outbox_withdraw(actor=None, kind="test.alert", keys=[EBM, "no such key"], region_code="522632000000")
    assert list(found) == [EBM] and found[EBM].withdrawn and not found[EBM].prepared
    with pytest.raises(OutboxNotPending):
        outbox_prepare(message=picked, sign=signed)
    message.refresh_from_db()
    assert (message.state, message.prepared_at, counter.built) == (OutboxState.WITHDRAWN, None, [EBM])
    assert not outbox_mark_published(message=message) and counter.published == []
    assert outbox_due() == []
    event = AuditEvent.objects.get(verb="outbox.withdraw")
    assert event.after == {"state": "withdrawn", "prepared": False} and event.region_code == "522632000000"


def test_a_prepared_row_withdrawn_says_its_bytes_may_be_out_and_is_not_retried(counter: Counter) -> None:
    from django.db import transaction

    from ruralcast.messaging.services import OutboxNotPending, outbox_withdraw

    message = outbox_enqueue(kind="test.alert", key=EBM)
    outbox_prepare(message=message, sign=signed)
    with transaction.atomic():
        assert outbox_withdraw(actor=None, kind="test.alert", keys=[EBM])[EBM].prepared
    with pytest.raises(OutboxNotPending):  # a retry of the stored bytes
        outbox_prepare(message=message, sign=signed)
    with transaction.atomic():  # a second withdrawal finds it withdrawn and changes nothing
        again = outbox_withdraw(actor=None, kind="test.alert", keys=[EBM])[EBM]
    assert again.state == OutboxState.WITHDRAWN and not again.withdrawn
