"""Console pages of firmware releases (/terminals/firmware/) and the file terminals download.

Thin: forms in, firmware.services and firmware.selectors, templates out.
"""

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.regions.models import Region
from ruralcast.terminals.commands import command_send
from ruralcast.terminals.firmware import selectors, services
from ruralcast.terminals.firmware.forms import FirmwareRejectForm, FirmwareSendForm, FirmwareUploadForm
from ruralcast.terminals.models import CommandKind, FirmwareRelease, FirmwareState

_SHA256_LENGTH = 64


@authenticated_view
def release_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The releases of the user's regions, and the upload form."""
    access_require_somewhere(user=request.user, action=Action.FIRMWARE_MANAGE)
    form = FirmwareUploadForm(request.POST or None, request.FILES or None)

    def upload(data: dict[str, Any]) -> HttpResponseBase:
        release = services.firmware_upload(
            actor=request.user,
            data=data["file"].read(),
            version=data["version"],
            device_models=form.device_models(),
            regions=[data["region"]],
            valid_days=data["valid_days"],
            notes=data.get("notes") or "",
        )
        messages.success(request, _("Uploaded. Another firmware manager must approve it before it can be sent."))
        return redirect("terminals:firmware_release", release_id=release.pk)

    context = paginate(request, selectors.firmware_release_list(user=request.user))
    rows = context["page_obj"].object_list = list(context["page_obj"].object_list)
    names = dict(Region.objects.filter(code__in={c for r in rows for c in r.regions}).values_list("code", "name"))
    for release in rows:
        release.region_names = [names.get(code, code) for code in release.regions]
    return form_round_trip(request, form, upload, template="terminals/firmware_list.html", context=context)


_DETAIL_TEMPLATE = "terminals/firmware_release.html"


def _detail_context(request: AuthenticatedHttpRequest, release: FirmwareRelease) -> dict[str, Any]:
    """The release page without its two forms (each form page adds the one it round-trips)."""
    return {
        "release": release,
        "may_decide": selectors.firmware_may_decide(user=request.user, release=release),
        "own": release.uploaded_by_id == request.user.pk,
        "reject_form": FirmwareRejectForm(),
        "send_form": FirmwareSendForm(initial={"region": release.regions[0]}),
        "sendable": release.state == FirmwareState.APPROVED,
    }


@authenticated_view
def release_detail(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponseBase:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    return render(request, _DETAIL_TEMPLATE, _detail_context(request, release))


@authenticated_view
@require_POST
def release_approve(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponseBase:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    with service_errors_flashed(request):
        services.firmware_approve(release=release, approver=request.user)
        messages.success(request, _("Approved: the manifest is signed with the firmware key."))
    return redirect("terminals:firmware_release", release_id=release.pk)


@authenticated_view
@require_POST
def release_reject(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponseBase:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    form = FirmwareRejectForm(request.POST)

    def reject(data: dict[str, Any]) -> HttpResponseBase:
        services.firmware_reject(release=release, actor=request.user, reason=data["reason"])
        messages.success(request, _("Rejected."))
        return redirect("terminals:firmware_release", release_id=release.pk)

    context = _detail_context(request, release)
    return form_round_trip(request, form, reject, template=_DETAIL_TEMPLATE, context=context, form_key="reject_form")


@authenticated_view
@require_POST
def release_send(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponseBase:
    """Send the approved release to every terminal of a region inside its targets."""
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    form = FirmwareSendForm(request.POST)

    def send(data: dict[str, Any]) -> HttpResponseBase:
        command = command_send(
            actor=request.user,
            kind=CommandKind.FIRMWARE,
            params={"release": release.pk},
            regions=[data["region"]],
            timeout_s=data["timeout_s"],
        )
        messages.success(request, _("Firmware update sent; the answers arrive below."))
        return redirect("terminals:command", key=command.key)

    context = _detail_context(request, release)
    return form_round_trip(request, form, send, template=_DETAIL_TEMPLATE, context=context, form_key="send_form")


@require_GET
def firmware_file(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """The file of an approved, unexpired release, for terminals (no login: what it is, is signed).

    Served by content hash; a file nobody approved, or whose release expired, is not found."""
    name = services.firmware_name(sha256)
    if (
        len(sha256) != _SHA256_LENGTH
        or not selectors.firmware_file_servable(sha256=sha256)
        or not default_storage.exists(name)
    ):
        raise NotFound(_("No such firmware."))
    return stored_file_response(
        request,
        StoredFile(name=name, content_type="application/octet-stream"),
        cache_control="public, max-age=86400",  # not immutable: approval can lapse
        etag=f'"{sha256}"',
    )
