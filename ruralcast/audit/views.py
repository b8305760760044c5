"""Console page of the audit trail: filters, pagination, CSV export of the filtered rows."""

import json
from datetime import datetime, time, timedelta

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.audit.selectors import AuditFilter, audit_event_list
from ruralcast.core.exports import csv_streaming_response
from ruralcast.core.paging import paginate
from ruralcast.regions.codes import is_valid_code, level_of_code, prefix_of
from ruralcast.regions.models import Region


def _filters_from(request: AuthenticatedHttpRequest) -> tuple[AuditFilter, list[str]]:
    """Read the filter form; bad values become messages, never errors that lose the others."""
    problems: list[str] = []
    region = request.GET.get("region", "").strip()
    region_prefix = ""
    if region:
        if is_valid_code(region):
            region_prefix = prefix_of(region, level_of_code(region))
        else:
            problems.append(_("“%(code)s” is not a 12-digit region code; region filter ignored.") % {"code": region})
    dates: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        raw = request.GET.get(name, "").strip()
        try:
            day = parse_date(raw) if raw else None
        except ValueError:  # well-formed but impossible, e.g. 2024-02-30
            day = None
        if raw and day is None:
            problems.append(_("“%(value)s” is not a date (YYYY-MM-DD); ignored.") % {"value": raw})
        dates[name] = timezone.make_aware(datetime.combine(day, time.min)) if day else None
    until = dates["until"]
    if until is not None:
        until = until + timedelta(days=1)
    return (
        AuditFilter(
            verb=request.GET.get("verb", "").strip()[:64],
            actor=request.GET.get("actor", "").strip()[:150],
            region_prefix=region_prefix,
            text=request.GET.get("text", "").strip()[:100],
            since=dates["since"],
            until=until,
        ),
        problems,
    )


@authenticated_view
def events(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.AUDIT_VIEW)
    filters, problems = _filters_from(request)
    listing = audit_event_list(user=request.user, filters=filters)
    context = {"problems": problems, "values": request.GET, **paginate(request, listing)}
    # The page names regions (the CSV keeps the codes): one query for the page's rows.
    rows = context["page_obj"].object_list = list(context["page_obj"].object_list)
    names = dict(Region.objects.filter(code__in={e.region_code for e in rows}).values_list("code", "name"))
    for event in rows:
        event.region_name = names.get(event.region_code, "")
    return render(request, "audit/events.html", context)


@authenticated_view
def export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The filtered events as CSV (UTF-8 with BOM so spreadsheets read Chinese), streamed."""
    access_require_somewhere(user=request.user, action=Action.AUDIT_VIEW)
    filters, _problems = _filters_from(request)
    listing = audit_event_list(user=request.user, filters=filters)
    header = ["seq", "time", "actor", "verb", "object_type", "object_id", "object", "region", "before", "after", "hash"]
    rows = (
        [
            e.seq,
            e.created_at.isoformat(),
            e.actor_label,
            e.verb,
            e.object_type,
            e.object_id,
            e.object_label,
            e.region_code,
            json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
            json.dumps(e.after, ensure_ascii=False) if e.after is not None else "",
            e.hash,
        ]
        for e in listing.iterator(chunk_size=1000)
    )
    return csv_streaming_response(filename="ruralcast-audit.csv", header=header, rows=rows)
