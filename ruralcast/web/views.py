"""Console landing page."""

from django.http import HttpResponse
from django.shortcuts import render

from ruralcast.accounts.access import granted_prefixes, prefixes_q
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.selectors import role_grant_list
from ruralcast.audit.selectors import audit_recent_in_own_regions
from ruralcast.regions.codes import Level
from ruralcast.regions.selectors import region_counts_by_level, region_path_label


@authenticated_view
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    counts = region_counts_by_level(within=prefixes_q(granted_prefixes(user=user)))
    region_counts = [
        {"label": level.label, "count": counts.get(level.value, 0)} for level in Level if level != Level.NATIONAL
    ]
    context = {
        "home_path": region_path_label(region=user.home_region) if user.home_region else "",
        "grants": role_grant_list(user=user),
        "region_counts": region_counts,
        "recent_events": audit_recent_in_own_regions(user=user),
    }
    return render(request, "web/dashboard.html", context)
