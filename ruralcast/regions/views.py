"""Console pages for the region tree, the picker and designations. Thin: selectors and services."""

import secrets

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError
from ruralcast.core.exports import csv_response
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate
from ruralcast.regions import selectors
from ruralcast.regions.codes import Level
from ruralcast.regions.forms import DesignationImportForm
from ruralcast.regions.models import Region
from ruralcast.regions.services import designation_import

_SESSION_KEY = "designation_import_csv"
_MAX_CSV_BYTES = 2 * 1024 * 1024


def _with_paths(regions: list[Region]) -> list[dict[str, object]]:
    return [{"region": r, "path": selectors.region_path_label(region=r)} for r in regions]


@authenticated_view
def browse(request: AuthenticatedHttpRequest, code: str | None = None) -> HttpResponse:
    region = selectors.region_get(code=code) if code else selectors.region_root()
    access_require(user=request.user, action=Action.REGION_VIEW, region=region)
    query = request.GET.get("q", "").strip()[:50]
    counts = dict(
        selectors.region_subtree(region=region)
        .exclude(code=region.code)
        .values_list("level")
        .annotate(n=Count("code"))
        .values_list("level", "n")
    )
    context = {
        "region": region,
        "ancestors": selectors.region_ancestors(region=region),
        "query": query,
        "results": _with_paths(selectors.region_search(query=query, limit=30)) if query else [],
        "subtree_counts": [
            {"label": level.label, "count": counts[level.value]} for level in Level if counts.get(level.value)
        ],
        "designations": region.designations.all(),
        **paginate(request, selectors.region_children(region=region), per_page=100),
    }
    return render(request, "regions/browse.html", context)


@authenticated_view
def picker(request: AuthenticatedHttpRequest) -> HttpResponse:
    """htmx partial: the picker's result list for the text typed so far."""
    query = next((str(v) for k, v in request.GET.items() if k == "q" or k.endswith("__q")), "").strip()[:50]
    results = _with_paths(selectors.region_search(query=query, limit=15)) if query else []
    return render(request, "regions/picker_results.html", {"results": results, "query": query})


@authenticated_view
def designations(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = selectors.designation_list().annotate(region_count=Count("members"))
    can_manage = bool(action_prefixes(user=request.user, action=Action.DESIGNATION_MANAGE))
    return render(request, "regions/designations.html", {"designations": rows, "can_manage": can_manage})


@authenticated_view
def designation_detail(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    designation = selectors.designation_get(key=key)
    regions = _with_paths(list(selectors.designation_regions(designation=designation)))
    return render(request, "regions/designation.html", {"designation": designation, "regions": regions})


@authenticated_view
def designation_export(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    designation = selectors.designation_get(key=key)
    rows = (
        [region.code, region.name, region.level, selectors.region_path_label(region=region)]
        for region in selectors.designation_regions(designation=designation)
    )
    return csv_response(filename=f"{designation.key}.csv", header=["code", "name", "level", "path"], rows=rows)


@authenticated_view
def designation_import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Two steps: check the file (dry run, stored in the session), then confirm to save."""
    access_require_somewhere(user=request.user, action=Action.DESIGNATION_MANAGE)
    form = DesignationImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and request.POST.get("action") == "confirm":
        stored = request.session.get(_SESSION_KEY) or {}
        form = DesignationImportForm(request.POST)
        form.fields["file"].required = False
        context["form"] = form
        if stored.get("token") != request.POST.get("confirm_token") or not form.is_valid():
            context["error"] = _("The checked file has expired; please choose it again.")
        else:
            try:
                context["report"] = designation_import(
                    actor=request.user,
                    key=form.cleaned_data["key"],
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    source=form.cleaned_data["source"],
                    csv_text=stored["csv"],
                    replace=form.cleaned_data["replace"],
                )
                request.session.pop(_SESSION_KEY, None)
            except ApplicationError as error:
                context["error"] = error.message
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > _MAX_CSV_BYTES:
            form.add_error("file", _("The file is larger than 2 MB; split it."))
        else:
            try:
                csv_text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text; save it as “CSV UTF-8”."))
            else:
                try:
                    report = designation_import(
                        actor=request.user,
                        key=form.cleaned_data["key"],
                        name=form.cleaned_data["name"],
                        csv_text=csv_text,
                        replace=form.cleaned_data["replace"],
                        dry_run=True,
                    )
                except ApplicationError as error:
                    form_apply_error(form, error)
                else:
                    token = secrets.token_urlsafe(16)
                    request.session[_SESSION_KEY] = {"token": token, "csv": csv_text}
                    context.update({"report": report, "confirm_token": token})
    return render(request, "regions/designation_import.html", context)
