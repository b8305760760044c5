"""Console pages of firmware releases (/terminals/firmware/) and the file terminals download.

Thin: forms in, firmware.services and firmware.selectors, templates out.
"""

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.terminals.commands import command_send
from ruralcast.terminals.firmware import selectors, services
from ruralcast.terminals.firmware.forms import FirmwareRejectForm, FirmwareSendForm, FirmwareUploadForm
from ruralcast.terminals.models import CommandKind, FirmwareRelease, FirmwareState

_SHA256_LENGTH = 64


@authenticated_view
def release_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The releases of the user's regions, and the upload form."""
    access_require_somewhere(user=request.user, action=Action.FIRMWARE_MANAGE)
    form = FirmwareUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.firmware_upload(
                actor=request.user,
                data=form.cleaned_data["file"].read(),
                version=form.cleaned_data["version"],
                device_models=form.device_models(),
                regions=[form.cleaned_data["region"]],
                valid_days=form.cleaned_data["valid_days"],
                notes=form.cleaned_data.get("notes") or "",
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Uploaded. Another firmware manager must approve it before it can be sent."))
            return redirect("terminals:firmware_release", release_id=release.pk)
    context = {"form": form, **paginate(request, selectors.firmware_release_list(user=request.user))}
    return render(request, "terminals/firmware_list.html", context, status=400 if form.errors else 200)


def _detail(request: AuthenticatedHttpRequest, release: FirmwareRelease, **forms: object) -> HttpResponse:
    context = {
        "release": release,
        "may_decide": selectors.firmware_may_decide(user=request.user, release=release),
        "own": release.uploaded_by_id == request.user.pk,
        "reject_form": forms.get("reject_form") or FirmwareRejectForm(),
        "send_form": forms.get("send_form") or FirmwareSendForm(initial={"region": release.regions[0]}),
        "sendable": release.state == FirmwareState.APPROVED,
    }
    invalid = any(getattr(f, "errors", None) for f in forms.values())
    return render(request, "terminals/firmware_release.html", context, status=400 if invalid else 200)


@authenticated_view
def release_detail(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponse:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    return _detail(request, release)


@authenticated_view
@require_POST
def release_approve(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponse:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    try:
        services.firmware_approve(release=release, approver=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Approved: the manifest is signed with the firmware key."))
    return redirect("terminals:firmware_release", release_id=release.pk)


@authenticated_view
@require_POST
def release_reject(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponse:
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    form = FirmwareRejectForm(request.POST)
    if form.is_valid():
        try:
            services.firmware_reject(release=release, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Rejected."))
            return redirect("terminals:firmware_release", release_id=release.pk)
    return _detail(request, release, reject_form=form)


@authenticated_view
@require_POST
def release_send(request: AuthenticatedHttpRequest, release_id: int) -> HttpResponse:
    """Send the approved release to every terminal of a region inside its targets."""
    release = selectors.access_firmware_release(user=request.user, release_id=release_id)
    form = FirmwareSendForm(request.POST)
    if form.is_valid():
        try:
            command = command_send(
                actor=request.user,
                kind=CommandKind.FIRMWARE,
                params={"release": release.pk},
                regions=[form.cleaned_data["region"]],
                timeout_s=form.cleaned_data["timeout_s"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Firmware update sent; the answers arrive below."))
            return redirect("terminals:command", key=command.key)
    return _detail(request, release, send_form=form)


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
