"""The platform's half of the signed time sync (docs/protocols.md §11): it answers a terminal's
question with its own clock, signed, on that terminal's own topic.

A terminal publishes `{"terminal", "nonce", "sent_ms"}` on `rc/v1/up/<terminal>/time`; the ingest
worker hands each batch to `time_requests_store`, which queues one outbox row per question
(kind `time.answer`, key `<terminal>:<nonce>`), in the batch's transaction. The dispatcher builds
the answer when it publishes (`_build`: the platform's time is read as late as possible, so the
round trip the terminal measures covers the queueing) and signs it with the broadcast key:
`{"kind": "time", "terminal", "nonce", "time_ms"}`, QoS 1, not retained. The terminal accepts only
the answer to its outstanding nonce and takes half the round trip (ruralcast_terminal.timesync).

At most one question per terminal every QUESTION_INTERVAL is answered, so a device cannot fill the
outbox; the terminal asks again on its next connection.
"""

from datetime import timedelta

from django.utils import timezone
from ruralcast_terminal.timesync import TIME_KIND, is_nonce

from ruralcast.messaging.handlers import Outgoing, Uplink
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.messaging.topics import terminal_topic

TIME_OUTBOX_KIND = "time.answer"
QUESTION_INTERVAL = timedelta(seconds=10)


def time_requests_store(items: list[Uplink]) -> None:
    """Queue an answer to each well-formed question (uplink handler of kind `time`)."""
    since = timezone.now() - QUESTION_INTERVAL
    asked: set[str] = set()
    for item in items:
        nonce = item.payload.get("nonce")
        if not is_nonce(nonce) or item.terminal in asked:
            continue
        asked.add(item.terminal)
        recent = OutboxMessage.objects.filter(
            kind=TIME_OUTBOX_KIND, key__startswith=f"{item.terminal}:", created_at__gte=since
        )
        if recent.exists():
            continue
        outbox_enqueue(kind=TIME_OUTBOX_KIND, key=f"{item.terminal}:{nonce}")


def build_time_answer(key: str) -> list[Outgoing]:
    """The signed answer to one question: the platform's clock now, in milliseconds."""
    terminal, _, nonce = key.rpartition(":")
    payload = {
        "kind": TIME_KIND,
        "terminal": terminal,
        "nonce": nonce,
        "time_ms": int(timezone.now().timestamp() * 1000),
    }
    return [Outgoing(topic=terminal_topic(terminal), payload=payload, retain=False)]
