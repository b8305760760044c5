"""One structured log line per request: method, path, status, duration, user."""

import re
import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

log = structlog.get_logger("ruralcast.request")

_QUIET_PREFIXES = ("/static/", "/metrics", "/healthz")
# Secrets that travel in a path (the studio's live ingest URL) never reach the logs.
_SECRET_IN_PATH = re.compile(r"^(/media/ingest/[^/]+/)[^/]+/")


def loggable_path(path: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1***/", path)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if not request.path.startswith(_QUIET_PREFIXES):
            user = getattr(request, "user", None)
            log.info(
                "request",
                method=request.method,
                path=loggable_path(request.path),
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
                user=user.get_username() if user is not None and user.is_authenticated else None,
            )
        return response
