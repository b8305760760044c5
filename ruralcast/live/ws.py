"""The WebSocket the console's microphone speaks into: `/ws/live/<session id>/`.

A plain ASGI handler beside Django's (config/asgi.py), so no extra framework: it authenticates the
connection with the Django session cookie (the same login as the console; the session's auth hash
is checked like `django.contrib.auth.get_user` does), refuses a cross-site `Origin`, and accepts only
the operator of a session that is on the air. Each binary message is one frame: an 8-byte float64
little-endian capture time (ms since the epoch) then 16 kHz mono s16le PCM (stream.frame_split).
When the socket closes the session ends (reason `disconnected`, unless it was stopped before) and
its recording goes into the library. Close codes: 4401 not logged in, 4403 not the operator's live
session or foreign origin, 4400 a malformed frame.
"""

from __future__ import annotations

import logging
import re
import time
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from ruralcast.live.models import LiveSession, LiveState
from ruralcast.live.runtime import broadcast_begin, broadcast_finish, live_session_is_on
from ruralcast.live.services import live_session_stop
from ruralcast.live.stream import frame_split

log = logging.getLogger(__name__)

PATH = re.compile(r"^/ws/live/(\d{1,12})/$")
STATE_CHECK_SECONDS = 1.0


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _user_of(session_key: str) -> Any:
    """The logged-in, active user of a Django session key, or None."""
    store = import_string(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id, backend = store[SESSION_KEY], store[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return None
    if not constant_time_compare(store.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None
    return user


def _session_for(user: Any, session_id: int) -> Any:
    return (
        LiveSession.objects.select_related("target").filter(pk=session_id, operator=user, state=LiveState.LIVE).first()
    )


def _begin(session: Any) -> Any:
    return broadcast_begin(session)


def _end(session_id: int, reason: str) -> None:
    session = LiveSession.objects.get(pk=session_id)
    live_session_stop(actor=None, session=session, reason=reason)
    broadcast_finish(session_id)


def _origin_ok(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser (a script with the cookie): nothing cross-site to fear
    return urlsplit(origin).netloc == headers.get("host", "")


async def live_websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    match = PATH.match(scope.get("path", ""))
    headers = _headers(scope)
    if match is None or not _origin_ok(headers):
        await send({"type": "websocket.close", "code": 4403})
        return
    cookie = SimpleCookie()
    cookie.load(headers.get("cookie", ""))
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    user = await sync_to_async(_user_of)(morsel.value) if morsel is not None else None
    if user is None:
        await send({"type": "websocket.close", "code": 4401})
        return
    session_id = int(match.group(1))
    session = await sync_to_async(_session_for)(user, session_id)
    if session is None:
        await send({"type": "websocket.close", "code": 4403})
        return
    try:
        broadcast = await sync_to_async(_begin)(session)
    except Exception as error:  # noqa: BLE001 — no signing key, no broker: tell the page, end the session
        log.error("live session %s cannot go on the air: %s", session_id, error)
        await send({"type": "websocket.close", "code": 4503})
        await sync_to_async(_end)(session_id, "unavailable")
        return
    await send({"type": "websocket.accept"})

    reason = "disconnected"
    checked = time.monotonic()
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data:
                try:
                    captured, pcm = frame_split(data)
                except ValueError:
                    reason = "bad_frame"
                    await send({"type": "websocket.close", "code": 4400})
                    break
                broadcast.feed(pcm, captured)
            if time.monotonic() - checked > STATE_CHECK_SECONDS:
                checked = time.monotonic()
                if not await sync_to_async(live_session_is_on)(session_id):
                    reason = "stopped"
                    await send({"type": "websocket.close", "code": 1000})
                    break
    finally:
        await sync_to_async(_end)(session_id, reason)
