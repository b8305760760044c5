"""The baseline of bench/portal.py: a minimal raw ASGI app under uvicorn, nothing of ruralcast.

- `GET /events`: an event stream held open (like /portal/push/events, no authentication).
- `POST /push`: its body goes out at once to every open stream as one `data:` event.
- `GET /`: a static page of PAGE_BYTES bytes (the home page's size, set by the benchmark through
  the environment), the floor for the home page's throughput.
"""

import asyncio
import os
from typing import Any

_streams: set[asyncio.Queue[bytes]] = set()
PAGE = b"<!doctype html><title>bare</title>" + b"x" * max(0, int(os.environ.get("BARE_PAGE_BYTES", "2048")) - 34)


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/events":
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        _streams.add(queue)
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'data: {"alerts":[]}\n\n', "more_body": True})
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            while not gone.done():
                getting = asyncio.ensure_future(queue.get())
                await asyncio.wait({getting, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()
                    break
                await send({"type": "http.response.body", "body": getting.result(), "more_body": True})
        except OSError:
            pass
        finally:
            _streams.discard(queue)
            gone.cancel()
        return
    if scope["path"] == "/push":
        event = b"data: " + await _read_body(receive) + b"\n\n"
        for queue in list(_streams):
            queue.put_nowait(event)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": PAGE})
