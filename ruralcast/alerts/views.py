"""Console pages for emergency broadcasting. Thin: forms in, services and selectors, templates out."""

import io
import re
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook

from ruralcast.accounts.access import access_check, access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.alerts import selectors, services
from ruralcast.alerts.events import event_types
from ruralcast.alerts.formats.cap import cap_import
from ruralcast.alerts.formats.ebm import ebm_import
from ruralcast.alerts.formats.forms import ImportForm
from ruralcast.alerts.forms import AlertForm, ApproveForm, RejectForm
from ruralcast.alerts.models import Alert, MsgType, State, Status
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.core.exports import csv_response, safe_row
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.regions.selectors import region_get


@authenticated_view
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    query, state = request.GET.get("q", "").strip()[:50], request.GET.get("state", "")
    listing = selectors.alert_list(user=request.user, query=query, state=state if state in State.values else "")
    can_draft = bool(action_prefixes(user=request.user, action=Action.ALERT_DRAFT))
    context = {
        "query": query,
        "state": state,
        "states": State.choices,
        "can_draft": can_draft,
        **paginate(request, listing),
    }
    return render(request, "alerts/list.html", context)


def _initial_issuer(request: AuthenticatedHttpRequest) -> str:
    prefixes = action_prefixes(user=request.user, action=Action.ALERT_DRAFT)
    home = getattr(request.user, "home_region", None)
    if home is not None and any(home.code.startswith(p) for p in prefixes):
        return str(home.code)
    return ""


@authenticated_view
def alert_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.ALERT_DRAFT)
    form = AlertForm(request.POST or None, request.FILES or None, initial={"issuer_region": _initial_issuer(request)})

    def save(data: dict[str, Any]) -> HttpResponse:
        alert = services.alert_create(
            actor=request.user,
            issuer_region=data["issuer_region"],
            fields=form.alert_fields(),
            audio_upload=data.get("audio_file"),
        )
        messages.success(request, _("Draft saved. Check it, then submit it for approval."))
        return redirect("alerts:detail", ebm_id=alert.ebm_id)

    return form_round_trip(request, form, save, template="alerts/form.html", context={"events": event_types()})


@authenticated_view
def alert_import(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Draft a message from a CAP 1.2 or EBM file; errors name the line and keep the choices."""
    access_require_somewhere(user=request.user, action=Action.ALERT_DRAFT)
    form = ImportForm(request.POST or None, request.FILES or None, initial={"issuer_region": _initial_issuer(request)})

    def save(data: dict[str, Any]) -> HttpResponse:
        importer = cap_import if data["format"] == "cap" else ebm_import
        alert = importer(actor=request.user, xml_bytes=data["file"].read(), issuer_region=data["issuer_region"])
        messages.success(request, _("Imported as a draft. Check every field, then submit it for approval."))
        return redirect("alerts:detail", ebm_id=alert.ebm_id)

    return form_round_trip(request, form, save, template="alerts/import.html", error_field="file")


@authenticated_view
def alert_edit(request: AuthenticatedHttpRequest, ebm_id: str) -> HttpResponseBase:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    initial = {
        "issuer_region": alert.issuer_region_id,
        **{
            name: getattr(alert, name)
            for name in (
                "status",
                "event_code",
                "severity",
                "urgency",
                "certainty",
                "scope",
                "title",
                "text",
                "volume",
                "repeat",
            )
        },
        "onset": alert.onset,
        "expires": alert.expires,
        "targets": selectors.alert_targets(alert=alert),
    }
    form = AlertForm(request.POST or None, request.FILES or None, initial=initial)
    form.fields["issuer_region"].disabled = True

    def save(data: dict[str, Any]) -> HttpResponse:
        services.alert_edit(
            actor=request.user, alert=alert, fields=form.alert_fields(), audio_upload=data.get("audio_file")
        )
        messages.success(request, _("Draft updated."))
        return redirect("alerts:detail", ebm_id=alert.ebm_id)

    return form_round_trip(request, form, save, template="alerts/form.html", context={"alert": alert})


@authenticated_view
def alert_detail(request: AuthenticatedHttpRequest, ebm_id: str) -> HttpResponse:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    user = request.user
    targets = selectors.alert_targets(alert=alert)
    can_approve = (
        alert.state == State.SUBMITTED
        and user.pk not in (alert.created_by_id, alert.submitted_by_id)
        and all(access_check(user=user, action=Action.ALERT_APPROVE, region=r) for r in targets)
    )
    can_draft = access_check(user=user, action=Action.ALERT_DRAFT, region=alert.issuer_region)
    context = {
        "alert": alert,
        "event": event_types().get(alert.event_code),
        "targets": targets,
        "reach": selectors.alert_reach(alert=alert),
        "chain": selectors.alert_chain(alert=alert),
        "can_approve": can_approve,
        "can_draft": can_draft,
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
        "pending_cancel": selectors.pending_cancel(alert=alert) if alert.msg_type == MsgType.ALERT else None,
        "Status": Status,
        "State": State,
    }
    return render(request, "alerts/detail.html", context)


@authenticated_view
@require_GET
def alert_status(request: AuthenticatedHttpRequest, ebm_id: str) -> HttpResponse:
    """htmx partial: live counts, per region (drill down with ?region=CODE), silent terminals."""
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    breakdown = None
    if request.GET.get("region"):
        try:
            breakdown = region_get(code=request.GET["region"])
        except ApplicationError:
            breakdown = None
    status = selectors.broadcast_status(alert=alert, breakdown=breakdown)
    context = {"alert": alert, "status": status, "silent": selectors.silent_terminals(alert=alert, limit=50)}
    return render(request, "alerts/status_partial.html", context)


def _workflow(request: AuthenticatedHttpRequest, ebm_id: str, action: str) -> HttpResponse:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    user = request.user
    with service_errors_flashed(request):
        if action == "submit":
            services.alert_submit(actor=user, alert=alert)
            messages.success(request, _("Submitted. A second person with approval rights must now approve it."))
        elif action == "approve":
            confirm = request.POST.get("confirm_status", "")
            services.alert_approve(approver=user, alert=alert, confirm_status=confirm)
            messages.success(request, _("Approved. The message is being signed and sent."))
        elif action == "reject":
            services.alert_reject(approver=user, alert=alert, reason=request.POST.get("reason", ""))
            messages.success(request, _("Sent back to its author."))
        elif action == "cancel":
            cancel = services.alert_cancel(actor=user, alert=alert)
            messages.success(request, _("Cancel prepared and submitted; it needs a second person's approval."))
            return redirect("alerts:detail", ebm_id=cancel.ebm_id)
        elif action == "update":
            update = services.alert_prepare_update(actor=user, alert=alert)
            messages.success(request, _("Update prepared as a draft: change what is new, then submit."))
            return redirect("alerts:edit", ebm_id=update.ebm_id)
    return redirect("alerts:detail", ebm_id=alert.ebm_id)


@authenticated_view
@require_POST
def alert_action(request: AuthenticatedHttpRequest, ebm_id: str, action: str) -> HttpResponse:
    if action not in {"submit", "approve", "reject", "cancel", "update"}:
        raise NotFound(_("Unknown action."))
    return _workflow(request, ebm_id, action)


_PROOF_HEADER = ["terminal", "village_code", "village", "received", "started", "finished", "outcome", "reason"]


def _proof_table(alert: Alert) -> list[list[str]]:
    return [safe_row([getattr(row, name) for name in _PROOF_HEADER]) for row in selectors.proof_rows(alert=alert)]


@authenticated_view
def proof_export(request: AuthenticatedHttpRequest, ebm_id: str, fmt: str) -> HttpResponse:
    """Proof of broadcast: one row per targeted terminal, as CSV, xlsx or PDF (with the message and totals)."""
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    rows = _proof_table(alert)
    filename = f"proof-{alert.ebm_id}"
    if fmt == "csv":
        return csv_response(filename=f"{filename}.csv", header=_PROOF_HEADER, rows=rows)
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "proof"
        # The title is the author's text: openpyxl would store "=…" as a formula.
        sheet.append(safe_row([_("Proof of broadcast"), alert.ebm_id, alert.title, alert.get_status_display()]))
        sheet.append(_PROOF_HEADER)
        for row in rows:
            sheet.append(row)
        output = io.BytesIO()
        book.save(output)
        response = HttpResponse(
            output.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    if fmt == "pdf":
        # Imported on the first PDF: reportlab takes a while to import and nothing else in the web
        # process needs it.
        from ruralcast.alerts.proof_pdf import proof_pdf

        document = proof_pdf(
            alert=alert,
            status=selectors.broadcast_status(alert=alert),
            rows=selectors.proof_rows(alert=alert),
            signing_serial=selectors.signing_serial(alert=alert),
        )
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    raise NotFound(_("Unknown export format."))


@require_GET
def audio(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """Alert audio by content hash: public, immutable, with HTTP range support for terminals."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound(_("No such audio."))
    name = f"alerts/audio/{sha256}.mp3"
    if not default_storage.exists(name):
        raise NotFound(_("No such audio."))
    # MP3 because the platform encoded it so (alerts.audio), whatever was uploaded.
    return stored_file_response(
        request,
        StoredFile(name=name, content_type="audio/mpeg"),
        cache_control="public, max-age=31536000, immutable",
        etag=f'"{sha256}"',
    )
