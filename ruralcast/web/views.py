"""Console landing page."""

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render

from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.selectors import role_grant_list
from ruralcast.audit.selectors import audit_event_list
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_path_label


@authenticated_view
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    counts = dict(Region.objects.values_list("level").annotate(n=Count("code")).values_list("level", "n"))
    region_counts = [
        {"label": level.label, "count": counts.get(level.value, 0)} for level in Level if level != Level.NATIONAL
    ]
    context = {
        "home_path": region_path_label(region=user.home_region) if user.home_region else "",
        "grants": role_grant_list(user=user),
        "region_counts": region_counts,
        "recent_events": audit_event_list(user=user)[:10],
    }
    return render(request, "web/dashboard.html", context)
