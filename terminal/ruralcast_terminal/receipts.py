"""Receipts (docs/protocols.md §5): the events a terminal reports about each message, and their bytes.

`received`, `rejected` (with a rule's reason), `started`, `finished`, `failed`, `cancelled`; which one
is sent when is the router's decision (`router.py`). Receipts that happen within a few milliseconds of
each other travel in one message (`receipts_bytes`), which halves the uplink messages of a broadcast.
The bytes are assembled directly, not through `json.dumps`: the simulator sends thousands a second.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from datetime import UTC, datetime, tzinfo

from ruralcast_terminal import protocol, topics

# Receipt events (docs/protocols.md §5).
RECEIVED, REJECTED, STARTED = "received", "rejected", "started"
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"
# Reasons the router adds to protocol.REASONS for failed / cancelled receipts.
SUPERSEDED = "superseded"  # an Update replaced the alert
PLAYER_ERROR = "player_error"
ALREADY_WITHDRAWN = "already withdrawn"


_local_zone: tuple[float, tzinfo] | None = None  # (monotonic time to look again, the local offset)


def local_now_iso() -> str:
    """Now, in the terminal's local time with its UTC offset, to the millisecond (a receipt's `at`).

    The local offset is looked up once a minute, not per call (`astimezone()` costs as much as the
    rest of a receipt): the instant is always exact, and after a daylight-saving change the offset
    shown catches up within a minute."""
    global _local_zone
    zone = _local_zone
    if zone is None or time.monotonic() >= zone[0]:
        zone = _local_zone = (time.monotonic() + 60.0, datetime.now().astimezone().tzinfo or UTC)
    return datetime.now(zone[1]).isoformat(timespec="milliseconds")


_json_str = json.encoder.encode_basestring  # the C string encoder json.dumps uses (no ASCII escaping)


def receipt_bytes(*, terminal: str, ebm_id: str, event: str, reason: str = "", at: str | None = None) -> bytes:
    """One receipt (§5) as compact UTF-8 JSON (assembled directly: the simulator sends thousands)."""
    return (
        f'{{"terminal":{_json_str(terminal)},"ebm_id":{_json_str(ebm_id)},"event":{_json_str(event)},'
        f'"reason":{_json_str(reason)},"at":{_json_str(at or local_now_iso())}}}'
    ).encode()


def receipts_bytes(*, terminal: str, ebm_id: str, events: list[tuple[str, str, str]]) -> bytes:
    """Several receipts of one message in one MQTT message (§5): `events` is [(event, reason, at)].

    A terminal sends what happened within a few milliseconds together (received and started, when
    the audio came inline), which halves the uplink messages of a broadcast.
    """
    if len(events) == 1:
        event, reason, at = events[0]
        return receipt_bytes(terminal=terminal, ebm_id=ebm_id, event=event, reason=reason, at=at)
    items = ",".join(
        f'{{"event":{_json_str(event)},"reason":{_json_str(reason)},"at":{_json_str(at)}}}'
        for event, reason, at in events
    )
    return f'{{"terminal":{_json_str(terminal)},"ebm_id":{_json_str(ebm_id)},"events":[{items}]}}'.encode()


def peek_ebm_id(data: bytes, topic: str) -> str:
    """The EBM id a `rejected` receipt names, for a message that did not pass rules 1–4a (§5).

    Unverified, so used only to address the receipt: the payload's `ebm_id` when it can be read and
    is 35 digits (a genuine message signed by a key the terminal lacks names itself), else the last
    level of an alert topic (`…/<region>/<ebm-id>`, the chain's original), else "".
    """
    with contextlib.suppress(Exception):
        envelope = protocol.message_split(data)[0]
        value = json.loads(base64.b64decode(json.loads(envelope)["payload"]))["ebm_id"]
        if isinstance(value, str) and len(value) == topics.EBM_ID_DIGITS and value.isascii() and value.isdigit():
            return value
    return topic.rsplit("/", 1)[-1] if topics.is_alert_topic(topic) else ""
