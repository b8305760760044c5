"""One broker subscription per web process, fanned out to every screen connected to it.

`hub()` is this process's `Hub`, started on first use (the first screen that connects, or the first
poll): one `MqttLink` as the platform account with its own client id (`platform_client_id("push")`,
so several web processes and hosts never knock each other off), subscribed at QoS 1 to every region
topic (`rc/v1/down/r/#`). On connecting, the broker sends the retained alerts in force; after that
each dispatch, Update, Cancel and end of chain as it is published. Each message is opened once, here
(`envelope_opener`: the platform's trust list, as a terminal checks it), on the link's thread,
never on the screens' event loop. Then `fan_out`, still on that thread, makes each region's SSE
frame once (and one JSON document per distinct list: the villages of a county drill all share
one), and hands each event loop the finished bytes; the loop only queues the same bytes object
to every screen whose list changed. A screen whose list did not change (a neighbouring village's
alert) is sent nothing. When an alert in force ends, every screen's list is computed again
(`_expiry_watch`).

Topics that are not alerts (programmes, the trust list, commands, live voice) are dropped by their
name before anything is parsed (`state.alert_topic_name`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ruralcast_terminal import crypto
from ruralcast_terminal.mqtt import Message
from ruralcast_terminal.protocol import UNKNOWN_KEY, Rejected, TrustList, VerifyCache, open_envelope

from ruralcast.messaging.client import MqttLink, platform_client_id
from ruralcast.messaging.topics import ACL_ALL_REGIONS
from ruralcast.push.state import PushState

log = logging.getLogger(__name__)

# How long a request waits for the broker's retained alerts after the hub starts.
READY_SECONDS = 3.0
# The longest the expiry watch sleeps between two looks (alerts also end between dispatches).
EXPIRY_LOOK_SECONDS = 30.0
# A refused message naming a key the list does not hold rebuilds the list, at most this often.
TRUST_REBUILD_SECONDS = 10.0


def envelope_opener(trust_list: Callable[[], TrustList]) -> Callable[[bytes], dict[str, Any]]:
    """Open a message as a terminal does (docs/protocols.md §4 rules 1–4a) against the platform's
    trust list; a key the list does not know yet (a rotation since the list was read) reloads it,
    at most every TRUST_REBUILD_SECONDS. Verdicts are cached by signature: a message published
    under many region topics is verified once. The list's keys are warmed up at once
    (`trust_warm_up`), not on the first alert."""
    cache = VerifyCache()
    holder: dict[str, Any] = {"trust": trust_list(), "at": time.monotonic()}
    trust_warm_up(holder["trust"])

    def open_message(data: bytes) -> dict[str, Any]:
        try:
            return open_envelope(data, holder["trust"], cache=cache)[1]
        except Rejected as refusal:
            if refusal.reason != UNKNOWN_KEY or time.monotonic() - holder["at"] < TRUST_REBUILD_SECONDS:
                raise
            holder["trust"], holder["at"] = trust_list(), time.monotonic()
            trust_warm_up(holder["trust"])
            return open_envelope(data, holder["trust"], cache=cache)[1]

    return open_message


def trust_warm_up(trust: TrustList) -> None:
    """Load the SM2 library and every listed key's point now, when the hub starts: the first SM2
    operation of a process imports tongsuopy (~0.1 s), which otherwise fell on the first alert's
    way to the screens. A check of an empty text against a zero signature: always False, never
    an error, and nothing is cached as a verdict (`VerifyCache` keeps only the real messages')."""
    for item in trust.to_list():
        key = trust.get(str(item.get("serial", "")))
        if key is not None:
            with contextlib.suppress(crypto.SM2Unavailable, ValueError):
                crypto.verify(key.alg, key.public_key, b"", bytes(crypto.SIGNATURE_LENGTH))


def platform_trust_list() -> TrustList:
    from ruralcast.signing.selectors import trust_list_build

    return trust_list_build()


@dataclass(eq=False)
class Subscriber:
    """One screen's connection: the region it is shown alerts of, and the queue its stream reads."""

    region_code: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    last: bytes = b""


def alerts_json(alerts: list[Any]) -> str:
    """The one document a screen is sent (SSE data and poll answer alike)."""
    return json.dumps({"alerts": [a.as_json() for a in alerts]}, ensure_ascii=False, separators=(",", ":"))


def sse_frame(document: str) -> bytes:
    """The event-stream bytes of one document (`data:` line and the blank line that ends it)."""
    return b"data: " + document.encode() + b"\n\n"


class Hub:
    def __init__(
        self, *, opener: Callable[[bytes], dict[str, Any]] | None = None, link_kwargs: dict[str, Any] | None = None
    ) -> None:
        self._opener = opener
        self._link_kwargs = link_kwargs or {}
        self.state: PushState | None = None
        self.link: MqttLink | None = None
        self._subscribers: dict[int, Subscriber] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Held while frames are made and handed to the loops: two fan-outs (a message and the
        # expiry watch) reach each loop in the order their frames were made, so an older list
        # never lands after a newer one.
        self._fan_lock = threading.Lock()
        self._started = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.ready_at = 0.0

    # -- lifetime ------------------------------------------------------------------------------

    def start(self) -> Hub:
        """Connect and subscribe (blocking, from a thread that may use the ORM: the trust list is
        read). Idempotent; waits up to READY_SECONDS for the broker, then serves what it has."""
        with self._lock:
            if self.link is not None:
                return self
            opener = self._opener or envelope_opener(platform_trust_list)
            self.state = PushState(opener)
            self.link = MqttLink(
                client_id=platform_client_id("push"),
                subscriptions=[(ACL_ALL_REGIONS, 1)],
                on_message=self._on_message,
                **self._link_kwargs,
            )
            self.link.start()
            threading.Thread(target=self._expiry_watch, name="push-expiry", daemon=True).start()
        try:
            self.link.wait_connected(READY_SECONDS)
            time.sleep(0.2)  # the retained alerts follow the SUBACK at once
        except TimeoutError:
            log.warning("push: no broker connection yet; screens are served what arrives later")
        self.ready_at = time.monotonic()
        self._started.set()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._lock:
            link, self.link = self.link, None
        if link is not None:
            link.stop()

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    # -- screens -------------------------------------------------------------------------------

    def current(self, region_code: str) -> str:
        assert self.state is not None, "start() the hub first"
        return alerts_json(self.state.for_region(region_code))

    def subscribe(self, region_code: str) -> tuple[int, Subscriber]:
        """Register a connection (call on its event loop); its queue gets the current list first.

        Registered before the list is read: a change in between is fanned out to it as well (a
        frame equal to the one it holds is not sent twice)."""
        subscriber = Subscriber(region_code=region_code, loop=asyncio.get_running_loop())
        with self._lock:
            key = next(self._ids)
            self._subscribers[key] = subscriber
        subscriber.last = sse_frame(self.current(region_code))
        subscriber.queue.put_nowait(subscriber.last)
        return key, subscriber

    def unsubscribe(self, key: int) -> None:
        with self._lock:
            self._subscribers.pop(key, None)

    @property
    def screens(self) -> int:
        return len(self._subscribers)

    # -- the broker's side ---------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        assert self.state is not None
        if self.state.apply(message.topic, message.payload):
            self.fan_out()
            self._wake.set()  # the next expiry may have moved

    def fan_out(self) -> None:
        """Queue each screen's new list to it, on its own event loop, one call per loop.

        Runs on the caller's thread (the broker link's, or the expiry watch's): the lists, their
        JSON and their frames are made here, once per region, so the loops serving the screens
        only write bytes."""
        with self._fan_lock:
            with self._lock:
                subscribers = list(self._subscribers.values())
            by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
            for subscriber in subscribers:
                by_loop.setdefault(subscriber.loop, []).append(subscriber)
            frames = self._frames({subscriber.region_code for subscriber in subscribers})
            for loop, group in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_deliver, group, frames)
                except RuntimeError:  # that loop has closed: its connections are gone
                    continue

    def _frames(self, codes: set[str]) -> dict[str, bytes]:
        """Each region's frame now; regions shown the same alerts share one frame (one encoding)."""
        assert self.state is not None
        now = datetime.now(UTC)
        by_list: dict[tuple[Any, ...], bytes] = {}
        frames: dict[str, bytes] = {}
        for code in codes:
            alerts = tuple(self.state.for_region(code, now=now))
            frame = by_list.get(alerts)
            if frame is None:
                frame = by_list[alerts] = sse_frame(alerts_json(list(alerts)))
            frames[code] = frame
        return frames

    def _expiry_watch(self) -> None:
        while not self._stopping.is_set():
            state = self.state
            ends = state.next_expiry() if state is not None else None
            wait = EXPIRY_LOOK_SECONDS
            if ends is not None:
                wait = min(wait, max(0.05, (ends - datetime.now(UTC)).total_seconds() + 0.05))
            woken = self._wake.wait(wait)
            self._wake.clear()
            if not woken and not self._stopping.is_set():
                self.fan_out()


def _deliver(group: list[Subscriber], frames: dict[str, bytes]) -> None:
    """On one event loop: queue its screens' frames, skipping a screen that already shows it."""
    for subscriber in group:
        frame = frames[subscriber.region_code]
        if frame != subscriber.last:
            subscriber.last = frame
            subscriber.queue.put_nowait(frame)


_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub() -> Hub:
    """This process's hub, started on first use (blocking: call from a thread, not the event loop)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = Hub()
        current = _hub
    return current.start()


def hub_stop() -> None:
    """Disconnect this process's hub (tests; a new one starts on next use)."""
    global _hub
    with _hub_lock:
        current, _hub = _hub, None
    if current is not None:
        current.stop()
