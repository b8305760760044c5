"""The microphone's WebSocket (ruralcast.live.ws) as uvicorn drives it, through the ASGI interface:
only the logged-in speaker of a session on the air, from the same origin, may send; what they send
is encoded, signed and published to a real mosquitto; closing the socket ends the session and keeps
the recording."""

import asyncio
import math
import struct
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.live.models import LiveSession, LiveState
from ruralcast.live.services import live_session_start
from ruralcast.live.ws import live_websocket
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.regions.models import Region
from ruralcast.signing.services import signing_key_generate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _scope(session_id: int, *, cookie: str = "", origin: str = "http://testserver") -> dict[str, Any]:
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {"type": "websocket", "path": f"/ws/live/{session_id}/", "headers": headers}


def _converse(scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for message in incoming:
            inbox.put_nowait(message)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await live_websocket(scope, inbox.get, send)

    asyncio.run(run())
    # The handler's database calls ran in asgiref's worker thread: close its connection, as the
    # server's request cycle would, so the test database can be dropped at the end.
    asyncio.run(sync_to_async(connections.close_all)())
    return sent


def _frame(index: int) -> bytes:
    """160 ms of a 440 Hz tone at 16 kHz, stamped with its capture time."""
    samples = [int(8000 * math.sin(2 * math.pi * 440 * (index * 2560 + n) / 16000)) for n in range(2560)]
    return struct.pack("<d", time.time() * 1000 - 160) + struct.pack(f"<{len(samples)}h", *samples)


def test_strangers_are_refused(county_station_operator: User, village_broadcaster: User, guzhou: Region) -> None:
    session = live_session_start(actor=county_station_operator, target=guzhou)
    connect = [{"type": "websocket.connect"}]
    assert _converse(_scope(session.pk), connect) == [{"type": "websocket.close", "code": 4401}]
    other = _cookie(village_broadcaster)  # logged in, but not this session's speaker
    assert _converse(_scope(session.pk, cookie=other), connect) == [{"type": "websocket.close", "code": 4403}]
    speaker = _cookie(county_station_operator)
    foreign = _scope(session.pk, cookie=speaker, origin="http://evil.example")
    assert _converse(foreign, connect) == [{"type": "websocket.close", "code": 4403}]
    assert LiveSession.objects.get(pk=session.pk).state == LiveState.LIVE  # nothing was started or ended


def test_the_speaker_streams_and_closing_ends_the_session_with_a_recording(
    broker: Broker, county_station_operator: User, guzhou: Region
) -> None:
    signing_key_generate(actor=None)
    broker_files_write()
    broker.start()
    session = live_session_start(actor=county_station_operator, target=guzhou)
    frames = [{"type": "websocket.receive", "bytes": _frame(n)} for n in range(12)]  # ~1.9 s
    sent = _converse(
        _scope(session.pk, cookie=_cookie(county_station_operator)),
        [{"type": "websocket.connect"}, *frames, {"type": "websocket.disconnect", "code": 1000}],
    )
    assert sent == [{"type": "websocket.accept"}]
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (LiveState.ENDED, "disconnected")
    assert session.chunks >= 8
    assert session.recording is not None
    assert 1.5 < session.recording.audio_seconds < 2.5


def test_a_malformed_frame_closes_the_socket_and_ends_the_session(
    broker: Broker, county_station_operator: User, guzhou: Region
) -> None:
    signing_key_generate(actor=None)
    broker_files_write()
    broker.start()
    session = live_session_start(actor=county_station_operator, target=guzhou)
    sent = _converse(
        _scope(session.pk, cookie=_cookie(county_station_operator)),
        [{"type": "websocket.connect"}, {"type": "websocket.receive", "bytes": b"short"}],
    )
    assert sent == [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 4400}]
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (LiveState.ENDED, "bad_frame")
