"""ASGI entry point (uvicorn in `make run` and in deployments).

HTTP goes to Django, but for the household screens' event stream (`/portal/push/events`, the
emergency overlay: ruralcast.push.asgi); WebSockets (`/ws/live/<id>/`, the live-voice
microphone) to ruralcast.live.ws.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.local")
django_application = get_asgi_application()

from ruralcast.live.ws import live_websocket  # noqa: E402 — needs the apps loaded above
from ruralcast.push.asgi import EVENTS_PATH, push_events  # noqa: E402


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await live_websocket(scope, receive, send)
        return
    if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
        await push_events(scope, receive, send)
        return
    await django_application(scope, receive, send)
