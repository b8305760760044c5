from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ruralcast.ops.health import run_checks


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, 503 otherwise; the body says which failed."""
    checks = run_checks()
    ok = all(result["ok"] for result in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
