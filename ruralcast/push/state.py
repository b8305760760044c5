"""The alerts in force as the broker last told them, and what one screen is shown of them.

`PushState` keeps the latest verified message of every retained alert topic
(`rc/v1/down/r/<region>/<original EBM id>`; an Update or Cancel replaces the message on the same
topic, the end of a chain clears it). `PushState.for_region(code)` is the list a screen of that
village (or, unpaired, of the deployment's top region) is sent: every message in force, not a
Cancel, not expired, whose `areas` cover the code by region prefix, one per chain, most severe first.

Pure: no Django, no network. `hub` feeds it from the broker; the tests and the benchmark use it the
same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ruralcast_terminal.protocol import Rejected, area_covers, is_drill, is_schedule

from ruralcast.messaging.topics import REGION_PREFIX

# Opens a message (the whole MQTT payload) as a terminal does and returns its signed payload, or
# raises Rejected: `hub.envelope_opener` builds it from the platform's trust list.
Opener = Callable[[bytes], dict[str, Any]]

CANCEL = "Cancel"
# An alert topic's last level is the chain's original EBM id: 35 digits (docs/protocols.md §1).
EBM_ID_LENGTH = 35


@dataclass(frozen=True)
class ScreenAlert:
    """What a screen is sent of one alert in force: the platform's words, nothing derived on the box.

    `chain` is the chain's original EBM id (the overlay keeps its place across an Update), `ebm_id`
    the message's own; `severity` 1–4 picks the level colour the console uses (`colour`); `drill`
    is true for anything but a real alert (`status` other than Actual, or flagged); `audio_path` is
    the platform's public audio URL of the message, as a same-origin path ("" without audio).
    """

    chain: str
    ebm_id: str
    msg_type: str
    status: str
    drill: bool
    severity: int
    colour: str
    title: str
    text: str
    sender_name: str
    expires: str
    audio_path: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Held:
    areas: tuple[str, ...]
    expires: datetime
    cancel: bool
    alert: ScreenAlert


# The level colours of the console (alerts.models.SEVERITY_COLOUR); repeated here as data so this
# module stays free of Django models, and checked against it by the tests.
SEVERITY_COLOUR = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}


def alert_topic_name(topic: str) -> str | None:
    """The chain id of an alert topic (`…/r/<12 digits>/<35 digits>`), or None for any other topic
    (schedules, trust list, commands, live voice), which the overlay ignores without opening."""
    if not topic.startswith(REGION_PREFIX):
        return None
    parts = topic[len(REGION_PREFIX) :].split("/")
    if len(parts) != 2 or len(parts[1]) != EBM_ID_LENGTH or not parts[1].isdigit():
        return None
    return parts[1]


def _path_of(url: str) -> str:
    """The path of the platform's absolute audio URL: the screen fetches it from the origin it
    already talks to (the same files, behind the same nginx)."""
    if not url:
        return ""
    if "://" in url:
        rest = url.split("://", 1)[1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else ""
    return url if url.startswith("/") else ""


def screen_alert(chain: str, payload: dict[str, Any]) -> _Held:
    """A verified alert payload (§4) as what the screen is sent. Raises Rejected when malformed."""
    try:
        expires = datetime.fromisoformat(str(payload["expires"]))
        if expires.tzinfo is None:
            raise ValueError("no UTC offset")
        areas = tuple(str(a) for a in payload["areas"])
        severity = int(payload.get("severity", 4))
        audio = payload.get("audio") if isinstance(payload.get("audio"), dict) else {}
        alert = ScreenAlert(
            chain=chain,
            ebm_id=str(payload["ebm_id"]),
            msg_type=str(payload.get("msg_type", "Alert")),
            status=str(payload.get("status", "")),
            drill=is_drill(payload),
            severity=severity if severity in SEVERITY_COLOUR else 4,
            colour=SEVERITY_COLOUR.get(severity, "blue"),
            title=str(payload.get("title", "")),
            text=str(payload.get("text", "")),
            sender_name=str(payload.get("sender_name", "")),
            expires=expires.isoformat(),
            audio_path=_path_of(str((audio or {}).get("url") or "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise Rejected("malformed", f"not an alert payload: {error}") from None
    return _Held(areas=areas, expires=expires, cancel=alert.msg_type == CANCEL, alert=alert)


class PushState:
    """The latest verified message of every alert topic; thread-safe (the broker's thread writes,
    the web process's request threads and event loop read)."""

    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self.refused = 0  # messages on alert topics that did not open (unsigned, unknown key, malformed)
        self.version = 0  # bumped on every change

    def apply(self, topic: str, data: bytes) -> bool:
        """Take one message of a region topic; True if what screens may be shown changed.

        An empty message clears the topic (the chain has ended). A message that does not open
        as the platform's signed alert changes nothing: the previous state stands.
        """
        chain = alert_topic_name(topic)
        if chain is None:
            return False
        if not data:
            with self._lock:
                changed = self._held.pop(topic, None) is not None
                self.version += changed
            return changed
        try:
            payload = self.opener(bytes(data))
            if is_schedule(payload) or payload.get("kind") != "alert":
                return False
            held = screen_alert(chain, payload)
        except Rejected:
            self.refused += 1
            return False
        with self._lock:
            self._held[topic] = held
            self.version += 1
        return True

    def for_region(self, code: str, *, now: datetime | None = None) -> list[ScreenAlert]:
        """What a screen of `code` is shown now: alerts in force whose areas cover `code`, one per
        chain (an alert published under two regions arrives twice), most severe first, then the
        most recent."""
        now = now or datetime.now(UTC)
        with self._lock:
            held = list(self._held.values())
        chains: dict[str, ScreenAlert] = {}
        for item in held:
            if item.cancel or item.expires < now:
                continue
            if any(area_covers(area, code) for area in item.areas):
                chains.setdefault(item.alert.chain, item.alert)
        return sorted(chains.values(), key=lambda a: (a.severity, a.drill, a.expires))

    def next_expiry(self, *, now: datetime | None = None) -> datetime | None:
        """When the next alert in force ends (the hub re-sends every screen's list then)."""
        now = now or datetime.now(UTC)
        with self._lock:
            ends = [h.expires for h in self._held.values() if not h.cancel and h.expires >= now]
        return min(ends) if ends else None
