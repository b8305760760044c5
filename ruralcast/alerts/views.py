"""Console pages for emergency broadcasting. Thin: forms in, services and selectors, templates out."""

import io
import re
from collections.abc import Callable
from datetime import datetime
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
from ruralcast.alerts import lifecycle, selectors, services
from ruralcast.alerts.events import event_types
from ruralcast.alerts.feeds.selectors import alert_feed_entry
from ruralcast.alerts.formats.cap import cap_import
from ruralcast.alerts.formats.ebm import ebm_import
from ruralcast.alerts.formats.forms import ImportForm
from ruralcast.alerts.forms import AlertForm, ApproveForm, RejectForm
from ruralcast.alerts.models import MsgType, State, Status
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.times import local_text, utc_text, zone_label
from ruralcast.alerts.translations import translations_of
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
        "can_manage_feeds": bool(action_prefixes(user=request.user, action=Action.FEED_MANAGE)),
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
                "language",
                "volume",
                "repeat",
            )
        },
        "onset": alert.onset,
        "expires": alert.expires,
        "targets": selectors.alert_targets(alert=alert),
    }
    form = AlertForm(request.POST or None, request.FILES or None, initial=initial, translations=translations_of(alert))
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
    chain = selectors.chain_view(alert=alert)
    approval: dict[str, object] = {}
    if alert.state == State.SUBMITTED:
        refusal = services.approval_refusal(approver=user, alert=alert)
        cancels = chain.in_force if alert.msg_type == MsgType.CANCEL else None
        approval = {
            "refusal": refusal.message if refusal is not None else "",
            "can_approve": refusal is None,
            "version": content_version(alert),
            "recent_grants": selectors.recent_alert_role_grants(alert=alert, approver=user),
            # What a Cancel cancels: the chain's message on air (its level colours the screen).
            "cancels": cancels,
            "cancels_regions": "、".join(r.name for r in selectors.alert_targets(alert=cancels)) if cancels else "",
        }
    imported = selectors.alert_import_record(alert=alert)
    context = {
        "alert": alert,
        "event": event_types().get(alert.event_code),
        "targets": selectors.alert_targets(alert=alert),
        "imported": imported,
        "feed_entry": alert_feed_entry(alert_id=alert.pk) if imported is not None else None,
        "reach": selectors.alert_reach(alert=alert),
        "chain": chain,
        "can_draft": access_check(user=user, action=Action.ALERT_DRAFT, region=alert.issuer_region),
        "approval": approval,
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
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
    context = {
        "alert": alert,
        "status": status,
        "silent": selectors.silent_terminals(alert=alert, limit=50),
        "demo_offline": selectors.demo_terminals_kept_offline(alert=alert) if status.totals.silent else 0,
    }
    return render(request, "alerts/status_partial.html", context)


def _workflow(request: AuthenticatedHttpRequest, ebm_id: str, action: str) -> HttpResponse:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    user = request.user
    with service_errors_flashed(request):
        if action == "submit":
            services.alert_submit(actor=user, alert=alert)
            messages.success(request, _("Submitted. A second person with approval rights must now approve it."))
        elif action == "approve":
            services.alert_approve(
                approver=user,
                alert=alert,
                confirm_status=request.POST.get("confirm_status", ""),
                version=request.POST.get("version", ""),
            )
            messages.success(request, _("Approved. The message is being signed and sent."))
        elif action == "reject":
            services.alert_reject(approver=user, alert=alert, reason=request.POST.get("reason", ""))
            messages.success(request, _("Sent back to its author."))
        elif action == "cancel":
            cancel = lifecycle.alert_cancel(actor=user, alert=alert)
            if cancel.msg_type == MsgType.CANCEL:
                messages.success(request, _("Cancel prepared and submitted; it needs a second person's approval."))
            else:
                messages.success(request, _("Stopped before it was sent: no terminal received it."))
            return redirect("alerts:detail", ebm_id=cancel.ebm_id)
        elif action == "update":
            update = lifecycle.alert_prepare_update(actor=user, alert=alert)
            messages.success(request, _("Update prepared as a draft: change what is new, then submit."))
            return redirect("alerts:edit", ebm_id=update.ebm_id)
    return redirect("alerts:detail", ebm_id=alert.ebm_id)


@authenticated_view
@require_POST
def alert_action(request: AuthenticatedHttpRequest, ebm_id: str, action: str) -> HttpResponse:
    if action not in {"submit", "approve", "reject", "cancel", "update"}:
        raise NotFound(_("Unknown action."))
    return _workflow(request, ebm_id, action)


# CSV columns (for programs: codes, and times in UTC as the column names say).
_CSV_HEADER = [
    "terminal",
    "village_code",
    "village",
    "received_utc",
    "started_utc",
    "finished_utc",
    "stopped_utc",
    "outcome",
    "reason",
]


def _proof_cells(row: selectors.ProofRow, when: Callable[[datetime | None], str]) -> list[str]:
    times = [when(row.received), when(row.started), when(row.finished), when(row.cancelled)]
    return safe_row([row.terminal, row.village_code, row.village, *times, row.outcome, row.reason])


@authenticated_view
def proof_export(request: AuthenticatedHttpRequest, ebm_id: str, fmt: str) -> HttpResponse:
    """Proof of broadcast: one row per terminal the message was published to (recorded at dispatch),
    as CSV (times in UTC), xlsx or PDF (times in the deployment's time zone, offset shown)."""
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    if fmt not in ("csv", "xlsx", "pdf"):
        raise NotFound(_("Unknown export format."))
    rows = selectors.proof_rows(alert=alert)
    filename = f"proof-{alert.ebm_id}"
    if fmt == "csv":
        return csv_response(
            filename=f"{filename}.csv", header=_CSV_HEADER, rows=(_proof_cells(row, utc_text) for row in rows)
        )
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "proof"
        # The title is the author's text: openpyxl would store "=…" as a formula.
        sheet.append(
            safe_row(
                [
                    _("Proof of broadcast"),
                    alert.ebm_id,
                    alert.title,
                    alert.get_status_display(),
                    _("Times in %(zone)s") % {"zone": zone_label(alert.sent_at)},
                ]
            )
        )
        sheet.append(
            [
                _("Terminal"),
                _("Village code"),
                _("Village"),
                _("Received"),
                _("Started"),
                _("Finished"),
                _("Stopped"),
                _("Outcome"),
                _("Reason"),
            ]
        )
        for row in rows:
            sheet.append(_proof_cells(row, local_text))
        output = io.BytesIO()
        book.save(output)
        response = HttpResponse(
            output.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    # Imported on the first PDF: reportlab takes a while to import and nothing else in the web
    # process needs it.
    from ruralcast.alerts.proof_pdf import proof_pdf

    document = proof_pdf(
        alert=alert,
        status=selectors.broadcast_status(alert=alert),
        rows=rows,
        signing_serial=selectors.signing_serial(alert=alert),
    )
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return response


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
