"""Console pages of the terminal fleet. Thin: forms in, services and selectors, templates out."""

import base64
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_check, access_require, access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core import wording
from ruralcast.core.confirmations import NAMES_SHOWN, confirmation
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.core.formviews import form_round_trip
from ruralcast.core.paging import paginate
from ruralcast.core.registries.terminal_history import terminal_history_sections
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_ancestors, region_get
from ruralcast.signing.selectors import trust_list_build
from ruralcast.terminals import commands, import_template, importer, maps, provisioning, selectors, services
from ruralcast.terminals.forms import CommandForm, ImportForm, TerminalForm
from ruralcast.terminals.models import AckState, Command, Terminal, TerminalKind, Transport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request: AuthenticatedHttpRequest, *, source: Any = None) -> dict[str, Any]:
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


@authenticated_view
def terminal_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_VIEW)
    filters = _filters(request)
    listing = selectors.terminal_list(user=request.user, **filters)
    context = {
        **filters,
        "kinds": TerminalKind.choices,
        "transports": Transport.choices,
        "statuses": selectors.STATUS_FILTERS,
        "can_manage": bool(action_prefixes(user=request.user, action=Action.TERMINAL_CONTROL)),
        "export_query": request.GET.urlencode(),
        **paginate(request, listing),
    }
    return render(request, "terminals/list.html", context)


@authenticated_view
def terminal_export(request: AuthenticatedHttpRequest, fmt: str) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_VIEW)
    listing = selectors.terminal_list(user=request.user, **_filters(request))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = HttpResponse(importer.export_csv(listing), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            importer.export_xlsx(listing),
            content_type=XLSX,
        )
    else:
        raise NotFound(_("Unknown export format."))
    response["Content-Disposition"] = f'attachment; filename="terminals-{stamp}.{fmt}"'
    return response


@authenticated_view
def terminal_import(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_CONTROL)
    form = ImportForm(request.POST or None, request.FILES or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        upload = data["file"]
        report = importer.terminals_import(
            actor=request.user,
            filename=upload.name or "",
            data=upload.read(),
            valid_only=data["valid_only"],
            dry_run=data["dry_run"],
        )
        if report.written:
            messages.success(
                request,
                _("%(c)d terminals registered, %(u)d updated. Issue each new terminal its provisioning file.")
                % {"c": len(report.created), "u": len(report.updated)},
            )
        # Refused rows and nothing written: the file needs fixing (the report says where).
        status = 400 if report.invalid and not report.written else 200
        return render(
            request,
            "terminals/import.html",
            {"form": form, "report": report, "columns": import_template.import_columns()},
            status=status,
        )

    return form_round_trip(
        request,
        form,
        save,
        template="terminals/import.html",
        context={"report": None, "columns": import_template.import_columns()},
        error_field="file",
    )


@authenticated_view
def terminal_import_template(request: AuthenticatedHttpRequest, fmt: str) -> HttpResponse:
    """The blank import file: the accepted columns named in Chinese and English."""
    access_require_somewhere(user=request.user, action=Action.TERMINAL_CONTROL)
    if fmt == "csv":
        response = HttpResponse(import_template.template_csv(), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(import_template.template_xlsx(), content_type=XLSX)
    else:
        raise NotFound(_("Unknown export format."))
    response["Content-Disposition"] = f'attachment; filename="terminals-import-template.{fmt}"'
    return response


@authenticated_view
def terminal_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_CONTROL)
    form = TerminalForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        registration = services.terminal_register(
            actor=request.user,
            village=data["village"],
            code=data.get("code") or "",
            details=form.details(),
            issue_credentials=False,
        )
        messages.success(request, _("Terminal registered. Download its provisioning file for the installer."))
        return redirect("terminals:detail", code=registration.terminal.code)

    return form_round_trip(request, form, save, template="terminals/form.html")


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
        "languages": ", ".join(terminal.languages or []),
    }


@authenticated_view
def terminal_edit(request: AuthenticatedHttpRequest, code: str) -> HttpResponseBase:
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    form = TerminalForm(request.POST or None, initial=_initial(terminal), editing=True)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.terminal_update(actor=request.user, terminal=terminal, details=form.details())
        messages.success(request, _("Saved."))
        return redirect("terminals:detail", code=terminal.code)

    return form_round_trip(request, form, save, template="terminals/form.html", context={"terminal": terminal})


@authenticated_view
def terminal_detail(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    terminal = selectors.access_terminal(user=request.user, code=code)
    state = getattr(terminal, "state", None) if not terminal.is_revoked else None
    context = {
        "terminal": terminal,
        "state": state,
        "unreflected": selectors.volume_unreflected(terminal=terminal, state=state),
        "can_manage": access_check(user=request.user, action=Action.TERMINAL_CONTROL, region=terminal.village),
        "history": _history(request, terminal),
    }
    return render(request, "terminals/detail.html", context)


def _history(request: AuthenticatedHttpRequest, terminal: Terminal) -> list[dict[str, Any]]:
    """Each registered history section (core.registries.terminal_history), paginated on its own."""
    return [
        {
            "section": section,
            **paginate(request, section.rows(terminal=terminal), per_page=10, param=f"{section.key}_page"),
        }
        for section in terminal_history_sections()
    ]


@authenticated_view
@require_POST
def terminal_revoke(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    services.terminal_revoke(actor=request.user, terminal=terminal)
    messages.success(request, _("Terminal revoked: the broker no longer lets it connect."))
    return redirect("terminals:detail", code=terminal.code)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@authenticated_view
@require_POST
def terminal_provision(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """New credentials and the provisioning file (JSON download and QR code), shown once."""
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    try:
        registration = services.terminal_credentials_issue(actor=request.user, terminal=terminal)
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


@authenticated_view
@require_POST
def terminals_provision_zip(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Provisioning files of every terminal the list's filters select (typically: not provisioned)."""
    access_require_somewhere(user=request.user, action=Action.TERMINAL_CONTROL)
    filters = _filters(request, source=request.POST)  # the list's filters travel in the form
    listing = selectors.terminal_list(user=request.user, action=Action.TERMINAL_CONTROL, **filters)
    try:
        issued = services.terminals_provision(
            actor=request.user, terminals=list(listing[: services.PROVISION_BATCH_MAX + 1])
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("terminals:list")

    trust = trust_list_build().to_list()
    data = provisioning.provisioning_zip(
        provisioning.provisioning_document(registration=r, trust=trust) for r in issued
    )
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="provisioning-{stamp}.zip"'
    return _no_store(response)


@authenticated_view
def terminal_label(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The printable asset label stuck on the device: no secret, a QR code of its identity."""
    terminal = selectors.access_terminal(user=request.user, code=code)
    qr = provisioning.qr_svg(provisioning.asset_label_text(terminal), scale=4)
    return render(request, "terminals/label.html", {"terminal": terminal, "qr": qr})


@authenticated_view
def fleet(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The fleet at a glance: online rate of the region and of each child region, and the map."""
    region = selectors.fleet_region(user=request.user, code=request.GET.get("region", ""))
    context = {
        "region": region,
        "ancestors": [
            a
            for a in region_ancestors(region=region)
            if access_check(user=request.user, action=Action.TERMINAL_VIEW, region=a)
        ],
        "can_control": access_check(user=request.user, action=Action.TERMINAL_CONTROL, region=region),
        **_rates_context(region),
    }
    return render(request, "terminals/fleet.html", context)


def _rates_context(region: Region) -> dict[str, Any]:
    total, children = selectors.online_rates(region=region)
    return {"region": region, "total": total, "children": children, "now": timezone.now()}


@authenticated_view
def fleet_rates(request: AuthenticatedHttpRequest) -> HttpResponse:
    """htmx partial: the rates table, refreshed every few seconds."""
    region = selectors.fleet_region(user=request.user, code=request.GET.get("region", ""))
    return render(request, "terminals/_rates.html", _rates_context(region))


@authenticated_view
def fleet_map(request: AuthenticatedHttpRequest) -> HttpResponse:
    """htmx partial: the offline map of the region's terminals."""
    region = selectors.fleet_region(user=request.user, code=request.GET.get("region", ""))
    data = selectors.fleet_map(region=region)
    svg = maps.fleet_svg(data, title=_("Terminals of %(region)s") % {"region": region.name})
    return render(request, "terminals/_map.html", {"region": region, "map": data, "svg": svg})


# ---------------------------------------------------------------------------- remote commands


def _command_targets(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """The targets named in the query: ?terminal=CODE, or ?region=CODE (every terminal below),
    with the confirmation the form asks before sending (how many, which: core/confirmations.py)."""
    if request.GET.get("terminal"):
        terminal = selectors.access_terminal(
            user=request.user, code=request.GET["terminal"], action=Action.TERMINAL_CONTROL
        )
        return {
            "terminals": [terminal],
            "label": f"{terminal.name} ({terminal.code})",
            "confirmation": confirmation(
                what=_("“{choice}” will be sent to the terminal %(name)s") % {"name": terminal.name or terminal.code},
                names=[],
                total=0,
            ),
        }
    region = selectors.fleet_region(user=request.user, code=request.GET.get("region", ""))
    access_require(user=request.user, action=Action.TERMINAL_CONTROL, region=region)
    reached = selectors.terminals_in_regions(regions=[region]).order_by("code")
    total = reached.count()
    return {
        "regions": [region],
        "label": _("every terminal of %(region)s") % {"region": region.name},
        "confirmation": confirmation(
            what=ngettext(
                "“{choice}” will be sent to %(n)d terminal of %(region)s",
                "“{choice}” will be sent to %(n)d terminals of %(region)s",
                total,
            )
            % {"n": total, "region": region.name},
            names=(t.name or t.code for t in reached[:NAMES_SHOWN]),
            total=total,
            blocked=_("No active terminal in %(region)s: nothing would receive the command.") % {"region": region.name}
            if not total
            else "",
        ),
    }


@authenticated_view
def command_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    targets = _command_targets(request)
    form = CommandForm(request.POST or None, request.FILES or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        # A firmware command names an approved release (terminals/firmware/): nothing is uploaded here.
        command = commands.command_send(
            actor=request.user,
            kind=data["kind"],
            params=form.params(),
            regions=targets.get("regions"),
            terminals=targets.get("terminals"),
            timeout_s=data["timeout_s"],
        )
        messages.success(request, _("Command sent; the answers arrive below."))
        return redirect("terminals:command", key=command.key)

    return form_round_trip(request, form, save, template="terminals/command_form.html", context={"targets": targets})


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


@authenticated_view
def command_detail(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    command = selectors.access_command(user=request.user, key=key)
    return render(request, "terminals/command.html", _command_context(command))


@authenticated_view
def command_status(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    """htmx partial: the answers so far and the time left."""
    command = selectors.access_command(user=request.user, key=key)
    return render(request, "terminals/_command_status.html", _command_context(command))


@authenticated_view
def command_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.TERMINAL_VIEW)
    listing = selectors.command_list(user=request.user)
    context = paginate(request, listing)
    # Targets by name (regions) and by name and village (terminals), not as 12- and 23-digit codes.
    rows = context["page_obj"].object_list = list(context["page_obj"].object_list)
    region_codes = {code for c in rows for code in c.regions}
    terminal_codes = {code for c in rows for code in c.terminals[:3]}
    regions = dict(Region.objects.filter(code__in=region_codes).values_list("code", "name"))
    found = {t.code: t for t in Terminal.objects.filter(code__in=terminal_codes).select_related("village")}
    for c in rows:
        c.target_labels = [regions.get(code, code) for code in c.regions] + [
            wording.terminal_label(found[code]) if code in found else code for code in c.terminals[:3]
        ]
    return render(request, "terminals/commands.html", context)
