"""Console pages of work orders and the county statistics. Thin: forms in, services, templates out."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require_somewhere
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.maintenance import figures, selectors, services
from ruralcast.maintenance.forms import NoteForm, ResolveForm
from ruralcast.maintenance.models import FaultKind
from ruralcast.regions.codes import Level
from ruralcast.regions.selectors import region_children, region_get
from ruralcast.terminals.selectors import fleet_region


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_VIEW)
    state = request.GET.get("state", "open")
    state = state if state in (*selectors.STATE_FILTERS, "all") else "open"
    fault = request.GET.get("fault", "")
    region = None
    if request.GET.get("region"):
        try:
            region = region_get(code=request.GET["region"])
        except ApplicationError:
            region = None
    listing = selectors.work_order_list(
        user=_user(request), region=region, state=state if state != "all" else "", fault=fault
    )
    context = {
        "state": state,
        "fault": fault,
        "region": region,
        "faults": FaultKind.choices,
        "now": timezone.now(),
        **paginate(request, listing),
    }
    return render(request, "maintenance/list.html", context)


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.work_order_get(user=_user(request), pk=pk)
    note_form, resolve_form = NoteForm(), ResolveForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "take":
                services.work_order_take(actor=_user(request), order=order)
                messages.success(request, _("The work order is yours."))
            elif action == "note":
                note_form = NoteForm(request.POST, request.FILES)
                if note_form.is_valid():
                    services.work_order_note_add(
                        actor=_user(request),
                        order=order,
                        text=note_form.cleaned_data["text"],
                        photo=note_form.cleaned_data.get("photo"),
                    )
                    messages.success(request, _("Note added."))
                    return redirect("maintenance:detail", pk=order.pk)
            elif action == "resolve":
                resolve_form = ResolveForm(request.POST)
                if resolve_form.is_valid():
                    services.work_order_resolve(
                        actor=_user(request), order=order, resolution=resolve_form.cleaned_data["resolution"]
                    )
                    messages.success(request, _("Resolved."))
                    return redirect("maintenance:detail", pk=order.pk)
        except ApplicationError as error:
            form_apply_error(resolve_form if action == "resolve" else note_form, error)
        if not (note_form.errors or resolve_form.errors):
            return redirect("maintenance:detail", pk=order.pk)
    region = region_get(code=order.village_code)
    context = {
        "order": order,
        "notes": order.notes.select_related("author"),
        "note_form": note_form,
        "resolve_form": resolve_form,
        "can_maintain": access_check(user=_user(request), action=Action.TERMINAL_MAINTAIN, region=region),
        "now": timezone.now(),
    }
    return render(
        request, "maintenance/detail.html", context, status=400 if note_form.errors or resolve_form.errors else 200
    )


@login_required
def statistics(request: HttpRequest) -> HttpResponse:
    """Availability, mean time to repair and open orders per county (or per child region), last 30 days."""
    region = fleet_region(user=_user(request), code=request.GET.get("region", ""))
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


@login_required
def note_photo(request: HttpRequest, pk: int, note_id: int) -> HttpResponseBase:
    """A note's photo, to those who may see the work order (media files are not served publicly)."""
    order = selectors.work_order_get(user=_user(request), pk=pk)
    note = order.notes.filter(pk=note_id).exclude(photo="").first()
    if note is None:
        raise NotFound(_("No such photo."))
    return stored_file_response(
        request,
        StoredFile(name=note.photo.name, content_type=note.photo_content_type),
        cache_control="private, max-age=3600",
    )
