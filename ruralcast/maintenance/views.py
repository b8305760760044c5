"""Console pages of work orders and the county statistics. Thin: forms in, services, templates out."""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.core.exports import csv_response, xlsx_response
from ruralcast.core.formviews import form_error_apply, form_round_trip, form_status
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.maintenance import exports, figures, selectors, services
from ruralcast.maintenance.forms import NoteForm, ResolveForm
from ruralcast.maintenance.models import FaultKind, WorkOrder
from ruralcast.regions.codes import Level
from ruralcast.regions.selectors import region_children, region_get
from ruralcast.terminals.selectors import fleet_region


def _filters(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """The list's filters from the query (the export takes the same ones)."""
    state = request.GET.get("state", "open")
    state = state if state in (*selectors.STATE_FILTERS, "all") else "open"
    region = None
    if request.GET.get("region"):
        try:
            region = region_get(code=request.GET["region"])
        except ApplicationError:
            region = None
    return {"state": state, "fault": request.GET.get("fault", ""), "region": region}


def _listing(request: AuthenticatedHttpRequest, filters: dict[str, Any]) -> QuerySet[WorkOrder]:
    return selectors.work_order_list(
        user=request.user,
        region=filters["region"],
        state=filters["state"] if filters["state"] != "all" else "",
        fault=filters["fault"],
    )


@authenticated_view
def order_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_VIEW)
    filters = _filters(request)
    context = {
        **filters,
        "faults": FaultKind.choices,
        "now": timezone.now(),
        "export_query": request.GET.urlencode(),
        **paginate(request, _listing(request, filters)),
    }
    return render(request, "maintenance/list.html", context)


@authenticated_view
def order_export(request: AuthenticatedHttpRequest, fmt: str) -> HttpResponse:
    """The listed work orders (same filters) as CSV or xlsx, through core.exports (formula-safe)."""
    access_require_somewhere(user=request.user, action=Action.TERMINAL_VIEW)
    listing = _listing(request, _filters(request))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    header, rows = exports.export_header(), exports.export_rows(listing)
    if fmt == "csv":
        return csv_response(filename=f"work-orders-{stamp}.csv", header=header, rows=rows)
    if fmt == "xlsx":
        return xlsx_response(filename=f"work-orders-{stamp}.xlsx", sheet="work-orders", header=header, rows=rows)
    raise NotFound(_("Unknown export format."))


@authenticated_view
def order_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The work order, its notes, and the maintainer's three actions: take, note, resolve."""
    order = selectors.access_work_order(user=request.user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    note_form = NoteForm()
    page: dict[str, Any] = {
        "order": order,
        "notes": order.notes.select_related("author"),
        "note_form": note_form,
        "resolve_form": ResolveForm(),
        "can_maintain": access_check(
            user=request.user, action=Action.TERMINAL_MAINTAIN, region=region_get(code=order.village_code)
        ),
        "now": timezone.now(),
    }
    template = "maintenance/detail.html"

    def note(data: dict[str, Any]) -> HttpResponse:
        services.work_order_note_add(actor=request.user, order=order, text=data["text"], photo=data.get("photo"))
        messages.success(request, _("Note added."))
        return redirect("maintenance:detail", pk=order.pk)

    def resolve(data: dict[str, Any]) -> HttpResponse:
        services.work_order_resolve(actor=request.user, order=order, resolution=data["resolution"])
        messages.success(request, _("Resolved."))
        return redirect("maintenance:detail", pk=order.pk)

    if action == "note":
        note_form = NoteForm(request.POST, request.FILES)
        return form_round_trip(request, note_form, note, template=template, context=page, form_key="note_form")
    if action == "resolve":
        resolve_form = ResolveForm(request.POST)
        return form_round_trip(request, resolve_form, resolve, template=template, context=page, form_key="resolve_form")
    if action == "take":
        try:
            services.work_order_take(actor=request.user, order=order)
        except ApplicationError as error:  # shown above the note form, as the page's message
            form_error_apply(note_form, error)
            return render(request, template, page, status=form_status(note_form, error))
        messages.success(request, _("The work order is yours."))
    if request.method == "POST":
        return redirect("maintenance:detail", pk=order.pk)
    return render(request, template, page)


@authenticated_view
def statistics(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Availability, mean time to repair and open orders per county (or per child region), last 30 days."""
    region = fleet_region(user=request.user, code=request.GET.get("region", ""))
    days = 30
    end = timezone.localdate() + timedelta(days=1)
    start = end - timedelta(days=days)
    rows = []
    children = list(region_children(region=region)) if region.level < Level.COUNTY else []
    for place in [region, *children]:
        rows.append(
            {
                "region": place,
                **{
                    code.split(".")[1]: fn(region_code=place.code, start=start, end=end)
                    for code, _l, _t, _a, fn in figures.FIGURES
                },
            }
        )
    return render(
        request,
        "maintenance/statistics.html",
        {"region": region, "rows": rows, "start": start, "end": end, "days": days},
    )


@authenticated_view
def note_photo(request: AuthenticatedHttpRequest, pk: int, note_id: int) -> HttpResponseBase:
    """A note's photo, to those who may see the work order (media files are not served publicly)."""
    order = selectors.access_work_order(user=request.user, pk=pk)
    note = order.notes.filter(pk=note_id).exclude(photo="").first()
    if note is None:
        raise NotFound(_("No such photo."))
    return stored_file_response(
        request,
        StoredFile(name=note.photo.name, content_type=note.photo_content_type),
        cache_control="private, max-age=3600",
    )
