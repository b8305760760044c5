"""Signed round-trip time sync (docs/protocols.md §11): how a terminal with a wrong clock still
judges alerts against the right time.

The terminal asks on `rc/v1/up/<terminal>/time` with a fresh random nonce; the platform answers on
the terminal's own topic with a *signed* payload `{"kind": "time", "terminal", "nonce", "time_ms"}`
(its clock, milliseconds since the epoch). The terminal takes the platform's time plus half the
round trip as "now", keeps the difference to its own clock as an offset, and every rule then reads
the corrected clock (`router.TerminalState.now`). An answer to another nonce (a replay, an old
answer, another terminal's) or one that took longer than MAX_ROUND_TRIP_MS sets nothing: a replayed
time message cannot move a clock, and the error of an accepted one is at most half its round trip.
Where the device has NTP, its clock is right already and the offset stays near 0.

Pure: no I/O; the caller passes its device clock in milliseconds. Standard library only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ruralcast_terminal.wire import canonical_json

TIME_KIND = "time"
MAX_ROUND_TRIP_MS = 30_000  # an answer slower than this says too little about the time
NONCE_HEX = 32  # 128 bits of randomness


class TimeRefused(Exception):
    """An answer that must not set the clock; the text says why (for logs)."""


def is_nonce(value: Any) -> bool:
    return isinstance(value, str) and len(value) == NONCE_HEX and all(c in "0123456789abcdef" for c in value)


@dataclass(slots=True)
class TimeSync:
    """A terminal's clock correction and the one question it has outstanding."""

    offset_ms: int = 0  # add to the device clock to get the platform's time
    round_trip_ms: int | None = None  # of the answer the offset came from (None: never synced)
    nonce: str = ""
    asked_ms: int = 0  # device clock when the outstanding question was sent

    def request(self, *, terminal_id: str, device_ms: int, nonce: str | None = None) -> bytes:
        """The uplink body of a new question; forgets any earlier one (its answer is then refused)."""
        self.nonce = nonce if nonce is not None else secrets.token_hex(NONCE_HEX // 2)
        self.asked_ms = device_ms
        return canonical_json({"terminal": terminal_id, "nonce": self.nonce, "sent_ms": device_ms})

    def answer(self, payload: dict[str, Any], *, terminal_id: str, device_ms: int) -> int:
        """Adopt a verified time answer; returns the new offset (ms). Raises TimeRefused."""
        if payload.get("terminal") != terminal_id:
            raise TimeRefused(f"an answer for {payload.get('terminal')!r}")
        if not self.nonce or payload.get("nonce") != self.nonce:
            raise TimeRefused("not the answer to the outstanding question (replayed or old)")
        platform_ms = payload.get("time_ms")
        if type(platform_ms) is not int or platform_ms <= 0:
            raise TimeRefused("time_ms is not a positive integer")
        round_trip = device_ms - self.asked_ms
        if not 0 <= round_trip <= MAX_ROUND_TRIP_MS:
            raise TimeRefused(f"round trip of {round_trip} ms")
        self.nonce = ""  # one answer per question
        self.offset_ms = platform_ms + round_trip // 2 - device_ms
        self.round_trip_ms = round_trip
        return self.offset_ms
