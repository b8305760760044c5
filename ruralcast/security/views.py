"""The security panel (安全态势): counts per kind over 24 hours and 7 days, the latest events, CSV."""

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.core.exports import csv_streaming_response
from ruralcast.security.selectors import SCOPE_ACTION, security_event_list, security_totals
from ruralcast.security.services import security_threshold

LATEST = 50


@authenticated_view
def panel(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=SCOPE_ACTION)
    context = {
        "totals": security_totals(user=request.user),
        "events": list(security_event_list(user=request.user)[:LATEST]),
        "threshold": security_threshold(),
        "latest": LATEST,
    }
    return render(request, "security/panel.html", context)


@authenticated_view
def export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The last 7 days' events in the reader's scope, as CSV (core's one export helper)."""
    access_require_somewhere(user=request.user, action=SCOPE_ACTION)
    events = security_event_list(user=request.user).iterator()
    header = ["time", "kind", "region", "terminal", "user", "detail"]
    rows = ([e.at.isoformat(), e.kind, e.region_code, e.terminal_code, e.username, e.detail] for e in events)
    return csv_streaming_response(filename=f"security-{timezone.localdate():%Y%m%d}.csv", header=header, rows=rows)
