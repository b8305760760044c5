"""The ingest worker: terminals' uplinks (receipts, status) from MQTT into the database, in batches.

It subscribes (QoS 1) to `rc/v1/up/+/<kind>` for every kind of `topics.UPLINK_KINDS` (receipt, status,
ack, playlog) with a persistent session
(a fixed client id, clean session off), so the broker keeps what arrives while the worker restarts.
Each message is checked (a JSON object; if it names a `terminal`, it is the one in the topic, which
the broker's ACL ties to the sender's account; otherwise it is counted and dropped), grouped by kind
and handed in batches (up to 500 messages or 0.2 s) to the handlers apps registered with
`register_uplink_handler`, all in one transaction per batch.

Delivery is at least once, and nothing the broker counts as delivered is lost: the broker gets a
message's PUBACK only after the transaction of its batch has committed (or the message was
counted and dropped as unusable). Until then it stays in the worker's persistent session, so a
worker killed mid-batch, or stopped while the database is away, gets it again from the broker
when it is back. A message written but not yet acknowledged when the worker dies comes again
too: handlers write idempotently (receipts: one row per message, terminal and event).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from ruralcast_terminal.mqtt import Delivery, Message

from ruralcast.messaging.client import MqttLink
from ruralcast.messaging.handlers import Uplink, uplink_handler
from ruralcast.messaging.topics import UPLINK_KINDS, uplink_filter, uplink_parse

log = logging.getLogger(__name__)

BATCH_MAX = 500
BATCH_SECONDS = 0.2
# A pause this long in the stream of uplinks ends the batch early (low latency when not busy).
IDLE_GAP_SECONDS = 0.02
WRITE_RETRIES = 3
INGEST_CLIENT_ID = "rc-platform-ingest"
QUEUE_MAX = 50_000

Received = tuple[str, bytes, datetime]  # topic, payload, when it arrived
Held = tuple[Received, Delivery | None]  # and its PUBACK, sent once the batch is committed
# The database is away (not the batch's fault): keep the batch and try again, however long it takes.
TRANSIENT = (OperationalError, InterfaceError)


@dataclass
class IngestStats:
    received: int = 0
    written: int = 0
    mismatched: int = 0  # the payload names another terminal than its topic
    malformed: int = 0  # not an uplink topic, not JSON, not an object
    unhandled: int = 0  # no handler registered for its kind
    failed: int = 0  # its handler kept failing; dropped

    def add(self, other: IngestStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def uplinks_parse(messages: Iterable[Received], *, stats: IngestStats) -> dict[str, list[Uplink]]:
    """Check and group raw messages by kind; what fails a check is counted in `stats` and dropped."""
    batch: dict[str, list[Uplink]] = {}
    for topic, payload, received_at in messages:
        stats.received += 1
        parsed = uplink_parse(topic)
        if parsed is None:
            stats.malformed += 1
            continue
        terminal, kind = parsed
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, ValueError):
            stats.malformed += 1
            continue
        if not isinstance(data, dict):
            stats.malformed += 1
            continue
        named = data.get("terminal", terminal)
        if named != terminal:
            stats.mismatched += 1
            log.warning("uplink on %s names terminal %r: dropped", topic, named)
            continue
        if uplink_handler(kind) is None:
            stats.unhandled += 1
            continue
        batch.setdefault(kind, []).append(Uplink(terminal=terminal, kind=kind, payload=data, received_at=received_at))
    return batch


def _write(batch: dict[str, list[Uplink]]) -> None:
    with transaction.atomic():
        for kind, items in batch.items():
            handler = uplink_handler(kind)
            if handler is not None and items:
                handler(items)


def _write_split(kind: str, items: list[Uplink], stats: IngestStats) -> None:
    """The whole batch failed repeatedly: find the items that fail by halving, keep the rest."""
    try:
        _write({kind: items})
    except TRANSIENT:
        raise
    except Exception:
        if len(items) == 1:
            log.exception("uplink handler %r failed on %s; dropped", kind, items[0].payload)
            stats.failed += 1
            return
        middle = len(items) // 2
        _write_split(kind, items[:middle], stats)
        _write_split(kind, items[middle:], stats)
    else:
        stats.written += len(items)


def uplinks_write(batch: dict[str, list[Uplink]], *, stats: IngestStats, retries: int = WRITE_RETRIES) -> None:
    """Hand every kind's items to its handler, all in one transaction; retry, then isolate failures."""
    total = sum(len(items) for items in batch.values())
    if not total:
        return
    for attempt in range(1, retries + 1):
        try:
            _write(batch)
        except Exception as error:  # noqa: BLE001 — a handler may raise anything: retry, then split the batch
            log.warning("uplink batch of %d failed (attempt %d): %s", total, attempt, error)
            if isinstance(error, TRANSIENT) and not connection.in_atomic_block:
                connection.close()  # a broken connection: reconnect on the next query
            time.sleep(0.1 * attempt)
        else:
            stats.written += total
            return
    for kind, items in batch.items():
        _write_split(kind, items, stats)


def ingest_batch(messages: Iterable[Received], *, stats: IngestStats | None = None) -> IngestStats:
    """Parse, check and write one batch (for the worker, and for tests without a broker)."""
    stats = stats if stats is not None else IngestStats()
    uplinks_write(uplinks_parse(messages, stats=stats), stats=stats)
    return stats


class IngestWorker:
    """`manage.py ingest`: the MQTT link fills a queue; this thread drains it in batches, and
    acknowledges each batch to the broker once it is committed."""

    def __init__(
        self,
        *,
        link: MqttLink | None = None,
        kinds: Iterable[str] = UPLINK_KINDS,
        batch_max: int = BATCH_MAX,
        batch_seconds: float = BATCH_SECONDS,
        client_id: str = INGEST_CLIENT_ID,
    ) -> None:
        # Bounded, though the broker already stops at MAX_INFLIGHT_MESSAGES unacknowledged messages:
        # if the database falls behind, it holds the rest (the session is persistent).
        self.queue: queue.Queue[Held] = queue.Queue(maxsize=QUEUE_MAX)
        self.link = link or MqttLink(
            client_id=client_id,
            clean_session=False,
            subscriptions=[(uplink_filter(kind), 1) for kind in kinds],
            on_delivery=self._on_delivery,
        )
        self.batch_max = batch_max
        self.batch_seconds = batch_seconds
        self.stats = IngestStats()
        self.stopping = threading.Event()

    def _on_delivery(self, message: Message, delivery: Delivery | None) -> None:
        self.queue.put(((message.topic, message.payload, timezone.now()), delivery))

    def next_batch(self) -> list[Held]:
        """Block up to `batch_seconds` for the first message, then take what arrives within
        `batch_seconds` of it, up to `batch_max`, but stop at the first lull of `IDLE_GAP_SECONDS`.

        Under load messages stream in without lulls and batches fill up; a lone burst (one alert's
        receipts from a few terminals) is written at once instead of waiting out the window.
        """
        try:
            first = self.queue.get(timeout=self.batch_seconds)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_max:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=min(remaining, IDLE_GAP_SECONDS)))
            except queue.Empty:
                break
        return batch

    def stop(self) -> None:
        self.stopping.set()

    def run(self, *, until: Callable[[], bool] | None = None, deadline: float | None = None) -> IngestStats:
        self.link.start()
        log.info("ingest running (batches of up to %d or %.1f s)", self.batch_max, self.batch_seconds)
        last_report = time.monotonic()
        try:
            while not self.stopping.is_set():
                if until is not None and until():
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
                batch = self.next_batch()
                if batch:
                    self._write_and_ack(batch)
                if time.monotonic() - last_report > 60:
                    log.info("ingest: %s", self.stats.as_dict())
                    last_report = time.monotonic()
            # What is queued is written and acknowledged before leaving (if the database is
            # there); whatever arrives meanwhile stays unacknowledged, with the broker.
            rest: list[Held] = []
            while True:
                try:
                    rest.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if rest:
                self._write_and_ack(rest)
        finally:
            self.link.stop()
        return self.stats

    def _write_and_ack(self, batch: list[Held]) -> None:
        if self._write_until_done([received for received, _ in batch]):
            self.link.ack([delivery for _, delivery in batch if delivery is not None])

    def _write_until_done(self, batch: list[Received]) -> bool:
        """Write the batch, waiting out a database outage; False if stopped before it was written."""
        uplinks = uplinks_parse(batch, stats=self.stats)
        while True:
            try:
                uplinks_write(uplinks, stats=self.stats)
                return True
            except TRANSIENT as error:
                log.warning("ingest: database unavailable (%s); retrying the batch", error)
                if not connection.in_atomic_block:
                    connection.close()
                if self.stopping.wait(1.0):
                    kept = sum(len(items) for items in uplinks.values())
                    log.warning("ingest stopped while the database was away: %d uplinks left with the broker", kept)
                    return False
