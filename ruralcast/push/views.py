"""The fallback for boxes whose browser has no EventSource: the same document, polled.

`overlay.js` asks `GET /portal/push/poll` every POLL_SECONDS when it cannot hold the event stream;
the answer is exactly what the stream would have sent last (`{"alerts": [...]}`), from this web
process's hub, so it too reflects the broker, not the database.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from ruralcast.core.errors import ApplicationError
from ruralcast.push.hub import hub
from ruralcast.push.selectors import push_access
from ruralcast.villagers.selectors import SCREEN_COOKIE

POLL_SECONDS = 10


@require_GET
def poll(request: HttpRequest) -> HttpResponse:
    """The alerts in force for this screen now (401 unknown screen, 403 revoked)."""
    try:
        access = push_access(token=request.COOKIES.get(SCREEN_COOKIE, ""))
    except ApplicationError as refusal:
        return JsonResponse({"error": refusal.message}, status=refusal.status_code)
    response = HttpResponse(hub().current(access.region_code), content_type="application/json; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Poll-Seconds"] = str(POLL_SECONDS)
    return response
