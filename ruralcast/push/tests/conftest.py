"""Fixtures of the push tests: a real mosquitto configured by the platform, a signing key, paired
screens in two villages, the real approval → dispatcher path, and event-stream clients that talk to
`push_events` through the ASGI interface on an event loop of their own (as uvicorn drives it)."""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts.lifecycle import alert_cancel
from ruralcast.alerts.models import Alert, Status
from ruralcast.alerts.services import AlertFields, alert_create, alert_submit
from ruralcast.alerts.tests.conftest import approve, stand_in_audio
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.tests.conftest import Broker, mqtt_settings, run_dir  # noqa: F401 — fixtures
from ruralcast.push.asgi import EVENTS_PATH, push_events
from ruralcast.push.hub import Hub, hub_stop
from ruralcast.regions.models import Region
from ruralcast.signing.services import signing_key_generate
from ruralcast.villagers.models import Screen
from ruralcast.villagers.selectors import SCREEN_COOKIE, token_hash


def screen_make(*, village: Region | None, revoked: bool = False) -> str:
    """A screen row as pairing leaves it (test fixture only: pairing is the villagers app's); returns its token."""
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    Screen.objects.create(
        token_hash=token_hash(token),
        village=village,
        paired_at=now if village else None,
        revoked_at=now if revoked else None,
    )
    return token


@pytest.fixture
def broker(mqtt_settings: dict[str, Any]) -> Iterator[Broker]:  # noqa: F811
    """mosquitto configured by the platform on a free port, started, with a signing key made."""
    signing_key_generate(actor=None)
    broker_files_write()
    server = Broker(mqtt_settings["PORT"])
    server.start()
    yield server
    hub_stop()
    server.stop()


@pytest.fixture
def neighbour_village(congjiang: Region) -> Region:
    """A village of 从江县, the county next to 榕江县."""
    return Region.objects.filter(parent__parent=congjiang).order_by("code")[0]


@dataclass
class Dispatch:
    author: User
    approver: User

    def drill(self, *, issuer: Region, target: Region, **overrides: Any) -> Alert:
        """Draft, submit, approve and publish a drill through the dispatcher (one pass)."""
        now = timezone.now()
        values: dict[str, Any] = {
            "status": Status.EXERCISE, "event_code": "11B03", "severity": 2, "title": "暴雨橙色预警演练",
            "text": "预计今天14时至20时有大到暴雨，请做好防范。", "onset": now, "expires": now + timedelta(hours=1),
            "targets": [target],
        }  # fmt: skip
        values.update(overrides)
        alert = alert_create(actor=self.author, issuer_region=issuer, fields=AlertFields(**values))
        alert = alert_submit(actor=self.author, alert=stand_in_audio(alert))
        approve(alert, self.approver)
        assert dispatch_pending_once().published == 1
        alert.refresh_from_db()
        return alert

    def cancel(self, alert: Alert) -> Alert:
        cancel = alert_cancel(actor=self.author, alert=alert)
        approve(cancel, self.approver)
        assert dispatch_pending_once().published == 1
        cancel.refresh_from_db()
        return cancel


@pytest.fixture
def dispatch(county_station_operator: User, county_alert_approver: User) -> Dispatch:
    return Dispatch(author=county_station_operator, approver=county_alert_approver)


@dataclass
class Stream:
    """One screen's request to the event stream, its answer read event by event."""

    status: int | None = None
    events: queue.Queue[tuple[str, str]] = field(default_factory=queue.Queue)
    body: bytearray = field(default_factory=bytearray)
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    disconnect: Callable[[], None] = lambda: None

    def feed(self, chunk: bytes) -> None:
        self.body.extend(chunk)
        while b"\n\n" in self.body:
            raw, _, rest = bytes(self.body).partition(b"\n\n")
            self.body[:] = rest
            name, data = "message", []
            for line in raw.decode().split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if data:
                self.events.put((name, "\n".join(data)))

    def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        name, data = self.events.get(timeout=timeout)
        return name, json.loads(data)

    def alerts(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        name, document = self.next(timeout)
        assert name == "message"
        return document["alerts"]

    def quiet(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


class Screens:
    """Event-stream clients on an asyncio loop in a thread of their own, sharing one hub."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.hub = Hub()
        self.hub.start()
        self.streams: list[Stream] = []

    def connect(self, token: str | None, *, method: str = "GET") -> Stream:
        stream = Stream()
        headers = [(b"host", b"testserver")]
        if token is not None:
            headers.append((b"cookie", f"{SCREEN_COOKIE}={token}".encode()))
        scope = {"type": "http", "method": method, "path": EVENTS_PATH, "headers": headers}

        async def run() -> None:
            gone = asyncio.Event()

            def disconnect() -> None:
                self.loop.call_soon_threadsafe(gone.set)

            stream.disconnect = disconnect

            async def receive() -> dict[str, Any]:
                await gone.wait()
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    stream.status = message["status"]
                    stream.started.set()
                else:
                    stream.feed(message.get("body", b""))

            try:
                await push_events(scope, receive, send, the_hub=self.hub)
            finally:
                stream.finished.set()

        asyncio.run_coroutine_threadsafe(run(), self.loop)
        assert stream.started.wait(10), "no answer from the event stream"
        self.streams.append(stream)
        return stream

    def close(self) -> None:
        for stream in self.streams:
            stream.disconnect()
        for stream in self.streams:
            stream.finished.wait(5)
        self.hub.stop()
        # asgiref's worker thread ran the token checks: close its connection as a server would.
        asyncio.run_coroutine_threadsafe(sync_to_async(connections.close_all)(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def screens(broker: Broker) -> Iterator[Screens]:
    clients = Screens()
    yield clients
    clients.close()


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
