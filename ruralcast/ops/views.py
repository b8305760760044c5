"""Operations endpoints: `/healthz` for load balancers, `/metrics` for the Prometheus scraper."""

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from ruralcast.core.addresses import address_in, client_address, parse_address, parse_networks
from ruralcast.ops.health import run_checks


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, 503 otherwise; the body says which failed."""
    checks = run_checks()
    ok = all(result["ok"] for result in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)


def metrics_allowed(request: HttpRequest) -> bool:
    """A scraper may read /metrics from an allowed address or with the bearer token.

    The figures (request rates per view, database operations, terminal counts) map the platform for
    an attacker, so they are not public: `RURALCAST_METRICS_ALLOW` (CIDRs, default loopback only,
    judged on the client address through the trusted proxies) or `RURALCAST_METRICS_TOKEN`.
    """
    token = settings.RURALCAST_METRICS_TOKEN
    presented = request.headers.get("Authorization", "")
    if token and presented.startswith("Bearer ") and secrets.compare_digest(presented[7:].strip(), token):
        return True
    allowed = parse_networks(tuple(settings.RURALCAST_METRICS_ALLOW), setting="RURALCAST_METRICS_ALLOW")
    return address_in(parse_address(client_address(request)), allowed)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(
            _("Metrics are for the monitoring server only: allow its address or send its token."),
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return ExportToDjangoView(request)


@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages without an icon link (the API docs, nginx's own
    error pages): send them to the console's icon (resolved per request, so a hashed static name
    of the production storage is found after collectstatic)."""
    return HttpResponsePermanentRedirect(static("web/favicon.svg"))
