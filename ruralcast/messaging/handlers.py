"""The registries other apps plug into: what an outbox row publishes, who writes which uplink.

Apps register in their `AppConfig.ready()`, so every process (web, dispatcher, ingest) that has set
Django up knows the same handlers:

    register_outbox_handler("alert.dispatch", build=alert_messages, on_published=alert_mark_dispatched)
    register_uplink_handler("receipt", receipts_write)

This module imports no models, so it is safe to import from anywhere at any time.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ruralcast.messaging.topics import DOWN_PREFIX, is_downlink


@dataclass(frozen=True)
class Outgoing:
    """One MQTT message an outbox row publishes.

    `payload` is signed by the dispatcher (the envelope of docs/protocols.md §3). `payload=None`
    clears the retained message on `topic`: an empty retained message, unsigned, as MQTT defines it.
    `attachment` (raw bytes, e.g. an alert's audio) travels after the envelope in the same message,
    unsigned: the payload must name its SHA-256 so terminals can check it.
    """

    topic: str
    payload: dict[str, Any] | None
    retain: bool = True
    qos: int = 1
    attachment: bytes | None = None

    def __post_init__(self) -> None:
        if not is_downlink(self.topic):
            raise ValueError(f"the platform publishes only on concrete {DOWN_PREFIX} topics, not {self.topic!r}")
        if self.qos not in (0, 1):
            raise ValueError("QoS 0 or 1")
        if self.attachment is not None and self.payload is None:
            raise ValueError("an attachment travels with a signed payload, not with a clearing message")


OutboxBuild = Callable[[str], list[Outgoing]]
OutboxPublished = Callable[[str], None]


@dataclass(frozen=True)
class OutboxHandler:
    build: OutboxBuild
    on_published: OutboxPublished | None = None


_OUTBOX_HANDLERS: dict[str, OutboxHandler] = {}


def register_outbox_handler(kind: str, build: OutboxBuild, on_published: OutboxPublished | None = None) -> None:
    """Say how to publish outbox rows of `kind`.

    `build(key)` returns the messages for the row with that key. It is called once per row, on the
    first attempt; the signed bytes are stored, so it is never called again for a row that got that
    far. `on_published(key)` runs after the broker acknowledged every message, inside the
    transaction that marks the row published (if it raises, the row stays pending and is published
    again, with the same bytes). Registering a kind again replaces its handler.
    """
    _OUTBOX_HANDLERS[kind] = OutboxHandler(build=build, on_published=on_published)


def outbox_handler(kind: str) -> OutboxHandler | None:
    return _OUTBOX_HANDLERS.get(kind)


@dataclass(frozen=True)
class Uplink:
    """One message a terminal sent on `rc/v1/up/<terminal>/<kind>`, parsed.

    `terminal` comes from the topic, which the broker's ACL ties to the connected user: a payload
    that names another terminal never gets this far.
    """

    terminal: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime = field(compare=False)


UplinkBatchHandler = Callable[[list[Uplink]], None]

_UPLINK_HANDLERS: dict[str, UplinkBatchHandler] = {}


def register_uplink_handler(kind: str, handle_batch: UplinkBatchHandler) -> None:
    """Say who writes uplinks of `kind` ("receipt", "status").

    The ingest worker calls `handle_batch(items)` with up to a few hundred uplinks at a time,
    inside the one transaction of the batch: write them in bulk (`bulk_create`), never one query
    per item. If it raises, the whole batch is rolled back and tried again.
    """
    _UPLINK_HANDLERS[kind] = handle_batch


def uplink_handler(kind: str) -> UplinkBatchHandler | None:
    return _UPLINK_HANDLERS.get(kind)


def uplink_kinds() -> list[str]:
    return sorted(_UPLINK_HANDLERS)
