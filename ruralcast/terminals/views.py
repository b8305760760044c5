"""Console pages of the terminal fleet. Thin: forms in, services and selectors, templates out."""

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_check, access_require, access_require_somewhere, action_prefixes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_ancestors, region_get
from ruralcast.terminals import commands, importer, maps, provisioning, selectors, services
from ruralcast.terminals.forms import CommandForm, ImportForm, TerminalForm
from ruralcast.terminals.models import AckState, Command, Terminal, TerminalKind, Transport
from ruralcast.web.forms import form_apply_error
from ruralcast.web.paging import paginate


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _filters(request: HttpRequest, *, source: Any = None) -> dict[str, Any]:
    get = source if source is not None else request.GET
    region = None
    if get.get("region"):
        try:
            region = region_get(code=get["region"])
        except ApplicationError:
            region = None
    status = get.get("status", "")
    return {
        "query": get.get("q", "").strip()[:50],
        "region": region,
        "kind": get.get("kind", "") if get.get("kind", "") in TerminalKind.values else "",
        "transport": get.get("transport", "") if get.get("transport", "") in Transport.values else "",
        "status": status if status in selectors.STATUS_FILTERS else "",
    }


@login_required
def terminal_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_VIEW)
    filters = _filters(request)
    listing = selectors.terminal_list(user=_user(request), **filters)
    context = {
        **filters,
        "kinds": TerminalKind.choices,
        "transports": Transport.choices,
        "statuses": selectors.STATUS_FILTERS,
        "can_manage": bool(action_prefixes(user=_user(request), action=Action.TERMINAL_CONTROL)),
        "export_query": request.GET.urlencode(),
        **paginate(request, listing),
    }
    return render(request, "terminals/list.html", context)


@login_required
def terminal_export(request: HttpRequest, fmt: str) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_VIEW)
    listing = selectors.terminal_list(user=_user(request), **_filters(request))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = HttpResponse(importer.export_csv(listing), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            importer.export_xlsx(listing),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise NotFound(_("Unknown export format."))
    response["Content-Disposition"] = f'attachment; filename="terminals-{stamp}.{fmt}"'
    return response


@login_required
def terminal_import(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_CONTROL)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = importer.terminals_import(
                actor=_user(request),
                filename=upload.name or "",
                data=upload.read(),
                valid_only=form.cleaned_data["valid_only"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            if report.written:
                messages.success(
                    request,
                    _("%(c)d terminals registered, %(u)d updated. Issue each new terminal its provisioning file.")
                    % {"c": len(report.created), "u": len(report.updated)},
                )
    status = 400 if form.errors or (report is not None and report.invalid and not report.written) else 200
    return render(request, "terminals/import.html", {"form": form, "report": report}, status=status)


@login_required
def terminal_create(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_CONTROL)
    form = TerminalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.terminal_register(
                actor=_user(request),
                village=form.cleaned_data["village"],
                code=form.cleaned_data.get("code") or "",
                details=form.details(),
                issue_credentials=False,
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Terminal registered. Download its provisioning file for the installer."))
            return redirect("terminals:detail", code=registration.terminal.code)
    return render(request, "terminals/form.html", {"form": form}, status=400 if form.errors else 200)


def _initial(terminal: Terminal) -> dict[str, Any]:
    return {
        "village": terminal.village_id,
        "code": terminal.code,
        "name": terminal.name,
        "kind": terminal.kind,
        "transport": terminal.transport,
        "model": terminal.model,
        "firmware": terminal.firmware,
        "installed_on": terminal.installed_on,
        "latitude": terminal.latitude,
        "longitude": terminal.longitude,
        "owner_station": terminal.owner_station,
        "maintainer": terminal.maintainer.username if terminal.maintainer else "",
    }


@login_required
def terminal_edit(request: HttpRequest, code: str) -> HttpResponse:
    terminal = selectors.terminal_get(user=_user(request), code=code, action=Action.TERMINAL_CONTROL)
    form = TerminalForm(request.POST or None, initial=_initial(terminal), editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.terminal_update(actor=_user(request), terminal=terminal, details=form.details())
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("terminals:detail", code=terminal.code)
    return render(
        request, "terminals/form.html", {"form": form, "terminal": terminal}, status=400 if form.errors else 200
    )


@login_required
def terminal_detail(request: HttpRequest, code: str) -> HttpResponse:
    terminal = selectors.terminal_get(user=_user(request), code=code)
    context = {
        "terminal": terminal,
        "state": getattr(terminal, "state", None) if not terminal.is_revoked else None,
        "can_manage": access_check(user=_user(request), action=Action.TERMINAL_CONTROL, region=terminal.village),
    }
    return render(request, "terminals/detail.html", context)


@login_required
@require_POST
def terminal_revoke(request: HttpRequest, code: str) -> HttpResponse:
    terminal = selectors.terminal_get(user=_user(request), code=code, action=Action.TERMINAL_CONTROL)
    services.terminal_revoke(actor=_user(request), terminal=terminal)
    messages.success(request, _("Terminal revoked: the broker no longer lets it connect."))
    return redirect("terminals:detail", code=terminal.code)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def terminal_provision(request: HttpRequest, code: str) -> HttpResponse:
    """New credentials and the provisioning file (JSON download and QR code), shown once."""
    terminal = selectors.terminal_get(user=_user(request), code=code, action=Action.TERMINAL_CONTROL)
    try:
        registration = services.terminal_credentials_issue(actor=_user(request), terminal=terminal)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("terminals:detail", code=terminal.code)
    document = provisioning.provisioning_document(registration=registration)
    raw = provisioning.provisioning_json(document)
    context = {
        "terminal": terminal,
        "document": document,
        "download": "data:application/json;base64," + base64.b64encode(raw).decode("ascii"),
        "qr": provisioning.qr_svg(provisioning.provisioning_qr_text(document), scale=3),
    }
    return _no_store(render(request, "terminals/provisioned.html", context))


@login_required
@require_POST
def terminals_provision_zip(request: HttpRequest) -> HttpResponse:
    """Provisioning files of every terminal the list's filters select (typically: not provisioned)."""
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_CONTROL)
    filters = _filters(request, source=request.POST)  # the list's filters travel in the form
    listing = selectors.terminal_list(user=_user(request), action=Action.TERMINAL_CONTROL, **filters)
    try:
        issued = services.terminals_provision(
            actor=_user(request), terminals=list(listing[: services.PROVISION_BATCH_MAX + 1])
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("terminals:list")
    from ruralcast.signing.selectors import trust_list_build

    trust = trust_list_build().to_list()
    data = provisioning.provisioning_zip(
        provisioning.provisioning_document(registration=r, trust=trust) for r in issued
    )
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="provisioning-{stamp}.zip"'
    return _no_store(response)


@login_required
def terminal_label(request: HttpRequest, code: str) -> HttpResponse:
    """The printable asset label stuck on the device: no secret, a QR code of its identity."""
    terminal = selectors.terminal_get(user=_user(request), code=code)
    qr = provisioning.qr_svg(provisioning.asset_label_text(terminal), scale=4)
    return render(request, "terminals/label.html", {"terminal": terminal, "qr": qr})


@login_required
def fleet(request: HttpRequest) -> HttpResponse:
    """The fleet at a glance: online rate of the region and of each child region, and the map."""
    region = selectors.fleet_region(user=_user(request), code=request.GET.get("region", ""))
    context = {
        "region": region,
        "ancestors": [
            a
            for a in region_ancestors(region=region)
            if access_check(user=_user(request), action=Action.TERMINAL_VIEW, region=a)
        ],
        "can_control": access_check(user=_user(request), action=Action.TERMINAL_CONTROL, region=region),
        **_rates_context(region),
    }
    return render(request, "terminals/fleet.html", context)


def _rates_context(region: Region) -> dict[str, Any]:
    total, children = selectors.online_rates(region=region)
    return {"region": region, "total": total, "children": children, "now": timezone.now()}


@login_required
def fleet_rates(request: HttpRequest) -> HttpResponse:
    """htmx partial: the rates table, refreshed every few seconds."""
    region = selectors.fleet_region(user=_user(request), code=request.GET.get("region", ""))
    return render(request, "terminals/_rates.html", _rates_context(region))


@login_required
def fleet_map(request: HttpRequest) -> HttpResponse:
    """htmx partial: the offline map of the region's terminals."""
    region = selectors.fleet_region(user=_user(request), code=request.GET.get("region", ""))
    data = selectors.fleet_map(region=region)
    svg = maps.fleet_svg(data, title=_("Terminals of %(region)s") % {"region": region.name})
    return render(request, "terminals/_map.html", {"region": region, "map": data, "svg": svg})


# ---------------------------------------------------------------------------- remote commands


def _command_targets(request: HttpRequest) -> dict[str, Any]:
    """The targets named in the query: ?terminal=CODE, or ?region=CODE (every terminal below)."""
    if request.GET.get("terminal"):
        terminal = selectors.terminal_get(
            user=_user(request), code=request.GET["terminal"], action=Action.TERMINAL_CONTROL
        )
        return {"terminals": [terminal], "label": f"{terminal.name} ({terminal.code})"}
    region = selectors.fleet_region(user=_user(request), code=request.GET.get("region", ""))
    access_require(user=_user(request), action=Action.TERMINAL_CONTROL, region=region)
    return {"regions": [region], "label": _("every terminal of %(region)s") % {"region": region.name}}


@login_required
def command_create(request: HttpRequest) -> HttpResponse:
    targets = _command_targets(request)
    form = CommandForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            command = commands.command_send(
                actor=_user(request),
                kind=form.cleaned_data["kind"],
                params=form.params(),
                regions=targets.get("regions"),
                terminals=targets.get("terminals"),
                timeout_s=form.cleaned_data["timeout_s"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Command sent; the answers arrive below."))
            return redirect("terminals:command", key=command.key)
    return render(
        request, "terminals/command_form.html", {"form": form, "targets": targets}, status=400 if form.errors else 200
    )


def _command_get(request: HttpRequest, key: str) -> Command:
    command = Command.objects.select_related("created_by").filter(key=key).first()
    if command is None:
        raise NotFound(_("No such command."))
    region = region_get(code=command.region_code)
    access_require(user=_user(request), action=Action.TERMINAL_VIEW, region=region)
    return command


def _command_context(command: Command) -> dict[str, Any]:
    now = timezone.now()
    problems = command.targets.exclude(state__in=[AckState.DONE, AckState.PENDING]).order_by("terminal_code")[:200]
    return {
        "command": command,
        "counts": commands.command_counts(command),
        "remaining": max(0, int((command.expires_at - now).total_seconds())),
        "problems": problems,
        "now": now,
    }


@login_required
def command_detail(request: HttpRequest, key: str) -> HttpResponse:
    command = _command_get(request, key)
    return render(request, "terminals/command.html", _command_context(command))


@login_required
def command_status(request: HttpRequest, key: str) -> HttpResponse:
    """htmx partial: the answers so far and the time left."""
    command = _command_get(request, key)
    return render(request, "terminals/_command_status.html", _command_context(command))


@login_required
def command_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=_user(request), action=Action.TERMINAL_VIEW)
    listing = selectors.command_list(user=_user(request))
    return render(request, "terminals/commands.html", paginate(request, listing))
