"""The push connection of a household screen: Server-Sent Events at `/portal/push/events`.

A plain ASGI handler beside Django's (config/asgi.py routes the path here), like the live-voice
WebSocket: a stream held open for hours by thousands of boxes needs no middleware chain, only the
device-token check (`selectors.push_access`, in a worker thread) and the hub's queue. The stream:

    retry: 3000                       (the browser reconnects 3 s after a drop)
    data: {"alerts": [...]}           (at once: what is in force now; then after every change)
    : keep-alive                      (every HEARTBEAT_SECONDS, so proxies keep the line open)
    event: revoked                    (the screen was revoked meanwhile; the stream ends)

Every `data` is the screen's whole list (`state.ScreenAlert`), so a screen that missed one never
shows a stale overlay: the next document is complete. `X-Accel-Buffering: no` tells nginx to pass
each event on at once (docs/deploy.md). 401 without a known device token, 403 for a revoked screen,
405 for anything but GET.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from ruralcast.core.errors import ApplicationError
from ruralcast.push.hub import Hub, hub
from ruralcast.push.selectors import PushAccess, push_access
from ruralcast.villagers.selectors import SCREEN_COOKIE

log = logging.getLogger(__name__)

EVENTS_PATH = "/portal/push/events"
HEARTBEAT_SECONDS = 15.0
# How often a held connection checks again that its screen was not revoked.
RECHECK_SECONDS = 60.0
RETRY_MS = 3000
KEEP_ALIVE = b": keep-alive\n\n"
# Put on a stream's queue when its client disconnects (never a frame the hub makes: those start `data:`).
GONE = b""


def _cookie(scope: dict[str, Any], name: str) -> str:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            with contextlib.suppress(Exception):
                jar.load(value.decode("latin-1"))
            if name in jar:
                return jar[name].value
    return ""


def _access(token: str) -> PushAccess:
    try:
        return push_access(token=token)
    finally:
        close_old_connections()


def _started_hub() -> Hub:
    try:
        return hub()
    finally:
        close_old_connections()


async def _answer(send: Any, status: int, text: str) -> None:
    body = json.dumps({"error": text}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def push_events(scope: dict[str, Any], receive: Any, send: Any, *, the_hub: Hub | None = None) -> None:
    """Serve one screen's event stream until it disconnects (or is revoked)."""
    if scope.get("method") != "GET":
        await _answer(send, 405, "GET only")
        return
    token = _cookie(scope, SCREEN_COOKIE)
    try:
        access = await sync_to_async(_access)(token)
    except ApplicationError as refusal:
        await _answer(send, refusal.status_code, refusal.message)
        return
    if the_hub is None:
        the_hub = await sync_to_async(_started_hub, thread_sensitive=False)()
    key, subscriber = the_hub.subscribe(access.region_code)
    gone = asyncio.Event()

    async def listen() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                subscriber.queue.put_nowait(GONE)  # wakes the stream at once
                return

    listener = asyncio.ensure_future(listen())
    headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-store"),
        (b"x-accel-buffering", b"no"),
    ]
    checked = time.monotonic()
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"retry: {RETRY_MS}\n\n".encode(), "more_body": True})
        while not gone.is_set():
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    chunk = await subscriber.queue.get()  # the hub's frame, the same bytes for the region
            except TimeoutError:
                chunk = KEEP_ALIVE
            if not chunk or gone.is_set():  # GONE
                break
            if chunk is KEEP_ALIVE and time.monotonic() - checked > RECHECK_SECONDS:
                checked = time.monotonic()
                try:
                    await sync_to_async(_access)(token)
                except ApplicationError:
                    await send({"type": "http.response.body", "body": b"event: revoked\ndata: {}\n\n"})
                    return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "http.response.body", "body": b""})
    except OSError:  # the client went away while we wrote (uvicorn's ClientDisconnected)
        pass
    finally:
        the_hub.unsubscribe(key)
        listener.cancel()
