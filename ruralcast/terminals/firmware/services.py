"""Writes to firmware releases, and the parameters of a firmware command built from one.

Why this shape (docs/security.md, "Firmware and uploads"): firmware is code that runs on every
loudspeaker of the regions it reaches, so it is treated like an alert and more: its own role
(`firmware.manage`, not `terminal.control`), a second person (the uploader never approves, the
database refuses it too), a key of its own (`firmware` purpose: the dispatcher's broadcast key can
never sign a manifest, and a terminal refuses a manifest it signed), and a manifest bound to
device models, regions and an expiry, which every terminal checks itself.

The file is stored by content as `firmware/<sha256>.bin` and served at
`/terminals/firmware/<sha256>.bin` while an approved release names it; the download URL is built
here from the stored file and `RURALCAST_PUBLIC_URL`, never taken from whoever sends the command.
"""

import base64
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ruralcast_terminal.protocol import code_prefix

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.disk import disk_room_require
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.signing.models import SigningKey
from ruralcast.signing.selectors import signing_key_active
from ruralcast.signing.services import payload_sign
from ruralcast.terminals.importer import _common_region
from ruralcast.terminals.models import FirmwareRelease, FirmwareState, Terminal
from ruralcast.terminals.selectors import terminals_in_regions

MAX_BYTES = 64 * 1024 * 1024
MAX_MODELS = 20
VALID_DAYS_MAX = 90  # a manifest's life: long enough for a roll-out, short enough to be re-decided
VALID_DAYS_DEFAULT = 30


def firmware_name(sha256: str) -> str:
    return f"firmware/{sha256}.bin"


def firmware_url(sha256: str) -> str:
    """Where terminals download the file: this platform's own address, built from the stored file."""
    return settings.RURALCAST_PUBLIC_URL.rstrip("/") + reverse("terminals:firmware", args=[sha256])


def _models_clean(device_models: list[str]) -> list[str]:
    cleaned: list[str] = []
    for model in device_models:
        model = (model or "").strip()
        if model and model.casefold() not in {m.casefold() for m in cleaned}:
            cleaned.append(model)
    if not cleaned or len(cleaned) > MAX_MODELS or any(len(m) > 100 for m in cleaned):
        raise ValidationError(
            _("Name the device models this firmware is for (1 to 20, as in the registry's “Model”)."),
            fields={"models": [_("Required.")]},
        )
    return cleaned


def _regions_clean(regions: list[Region]) -> list[Region]:
    """Distinct regions at village level or above, the inner of nested ones dropped (one covers it)."""
    if not regions:
        raise ValidationError(_("Choose the regions this firmware is for."), fields={"regions": [_("Required.")]})
    kept: list[Region] = []
    for region in sorted({r.code: r for r in regions}.values(), key=lambda r: (r.level, r.code)):
        if region.level > Level.VILLAGE:
            raise ValidationError(_("Choose regions, not terminals."), fields={"regions": [_("Not a region.")]})
        if not any(region.code.startswith(outer.prefix) for outer in kept):
            kept.append(region)
    return sorted(kept, key=lambda r: r.code)


def firmware_upload(
    *,
    actor: User,
    data: bytes,
    version: str,
    device_models: list[str],
    regions: list[Region],
    valid_days: int = VALID_DAYS_DEFAULT,
    notes: str = "",
) -> FirmwareRelease:
    """Store a firmware file and open a release of it, waiting for a second person's approval.

    `actor` needs `firmware.manage` over every target region. Nothing is sent or signed yet.
    """
    regions = _regions_clean(regions)
    for region in regions:
        access_require(user=actor, action=Action.FIRMWARE_MANAGE, region=region)
    version = (version or "").strip()
    if not version or len(version) > 50:
        raise ValidationError(
            _("Give the firmware version (at most 50 characters)."), fields={"version": [_("Required.")]}
        )
    device_models = _models_clean(device_models)
    if not 1 <= valid_days <= VALID_DAYS_MAX:
        raise ValidationError(
            _("A release is valid for 1 to %(days)d days.") % {"days": VALID_DAYS_MAX},
            fields={"valid_days": [_("Out of range.")]},
        )
    if len(notes) > 2000:
        raise ValidationError(_("At most 2,000 characters."), fields={"notes": [_("Too long.")]})
    if not data or len(data) > MAX_BYTES:
        raise ValidationError(_("A firmware file is 1 byte to 64 MB."), fields={"file": [_("Wrong size.")]})
    sha256 = hashlib.sha256(data).hexdigest()
    if not default_storage.exists(firmware_name(sha256)):
        disk_room_require(writes={_storage_folder(): len(data)}, field="file")
        saved = default_storage.save(firmware_name(sha256), ContentFile(data))
        if saved != firmware_name(sha256):  # a concurrent upload stored the identical bytes first
            default_storage.delete(saved)
    codes = [r.code for r in regions]
    with transaction.atomic():
        release = FirmwareRelease.objects.create(
            sha256=sha256,
            size=len(data),
            version=version,
            device_models=device_models,
            regions=codes,
            region_code=_common_region(codes),
            notes=notes.strip(),
            expires_at=timezone.now() + timedelta(days=valid_days),
            uploaded_by=actor,
        )
        audit_record(
            actor=actor, verb="firmware.upload", obj=release, region_code=release.region_code, after=_summary(release)
        )
    return release


def _storage_folder() -> Path:
    return Path(getattr(default_storage, "location", settings.MEDIA_ROOT))


def _summary(release: FirmwareRelease) -> dict[str, Any]:
    return {
        "version": release.version,
        "sha256": release.sha256,
        "size": release.size,
        "models": release.device_models,
        "regions": release.regions,
        "expires_at": release.expires_at.isoformat(),
        "state": release.state,
    }


def _require_on_every_region(*, user: User, release: FirmwareRelease) -> None:
    for code in release.regions:
        access_require(user=user, action=Action.FIRMWARE_MANAGE, region=region_get(code=code))


def manifest_payload(release: FirmwareRelease) -> dict[str, Any]:
    """The signed manifest (protocols.md §8): what the file is, for which devices, where, until when."""
    tz = timezone.get_current_timezone()
    return {
        "kind": "firmware",
        "release": release.pk,
        "version": release.version,
        "sha256": release.sha256,
        "size": release.size,
        "models": release.device_models,
        "areas": release.regions,
        "expires": release.expires_at.astimezone(tz).isoformat(timespec="seconds"),
    }


def firmware_approve(*, release: FirmwareRelease, approver: User) -> FirmwareRelease:
    """The second person approves: the manifest is signed with the firmware key, in one transaction.

    The approver must not be the uploader and needs `firmware.manage` over every target region; the
    release must be waiting and not expired. NoActiveKey (409) when there is no firmware key.
    """
    if approver.pk == release.uploaded_by_id:
        raise PermissionDenied(_("A second person must approve firmware: you uploaded this release."))
    _require_on_every_region(user=approver, release=release)
    with transaction.atomic():
        locked = FirmwareRelease.objects.select_for_update().get(pk=release.pk)
        if locked.state != FirmwareState.PENDING:
            raise Conflict(
                _("This release has already been decided (%(state)s).") % {"state": locked.get_state_display()}
            )
        if locked.expires_at <= timezone.now():
            raise Conflict(_("This release has expired; upload it again to decide anew."))
        key = signing_key_active(purpose=SigningKey.Purpose.FIRMWARE)
        envelope = payload_sign(payload=manifest_payload(locked))
        before = _summary(locked)
        locked.state, locked.decided_by, locked.decided_at = FirmwareState.APPROVED, approver, timezone.now()
        locked.manifest, locked.signing_key = base64.b64encode(envelope).decode("ascii"), key.serial
        locked.save(update_fields=["state", "decided_by", "decided_at", "manifest", "signing_key"])
        audit_record(
            actor=approver,
            verb="firmware.approve",
            obj=locked,
            region_code=locked.region_code,
            before=before,
            after={**_summary(locked), "signing_key": key.serial},
        )
    return locked


def firmware_reject(*, release: FirmwareRelease, actor: User, reason: str) -> FirmwareRelease:
    """Refuse a waiting release (or withdraw one's own). Needs the role over every target region."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError(_("Say why (at most 500 characters)."), fields={"reason": [_("Required.")]})
    _require_on_every_region(user=actor, release=release)
    with transaction.atomic():
        locked = FirmwareRelease.objects.select_for_update().get(pk=release.pk)
        if locked.state != FirmwareState.PENDING:
            raise Conflict(
                _("This release has already been decided (%(state)s).") % {"state": locked.get_state_display()}
            )
        before = _summary(locked)
        locked.state, locked.decided_by, locked.decided_at = FirmwareState.REJECTED, actor, timezone.now()
        locked.decision_note = reason
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=actor,
            verb="firmware.reject",
            obj=locked,
            region_code=locked.region_code,
            before=before,
            after={**_summary(locked), "reason": reason},
        )
    return locked


def _release_id(params: dict[str, Any]) -> int:
    extra = sorted(set(params) - {"release"})
    if extra:
        raise ValidationError(
            _(
                "A firmware command names only the approved release; the platform adds the file, "
                "its manifest and its download address (remove %(names)s)."
            )
            % {"names": ", ".join(extra)},
            fields={f"params.{name}": [_("Not allowed.")] for name in extra},
        )
    release = params.get("release")
    if isinstance(release, bool) or not isinstance(release, int):
        raise ValidationError(_("Name the approved firmware release."), fields={"params.release": [_("Required.")]})
    return release


def firmware_params_clean(params: dict[str, Any]) -> dict[str, Any]:
    """What a caller may send for a firmware command: `{"release": <id>}`, nothing else."""
    return {"release": _release_id(params)}


def firmware_command_params(
    *, actor: User | None, params: dict[str, Any], regions: list[Region], terminals: list[Terminal], now: datetime
) -> dict[str, Any]:
    """The parameters a firmware command carries (protocols.md §8), from an approved release.

    `actor` needs `firmware.manage` over every target (checked by `command_send`); every target
    must lie inside the release's regions, and at least one targeted terminal must be of one of its
    models. The URL is built from the stored file: no caller names a host.
    """
    release_id = _release_id(params)
    release = FirmwareRelease.objects.filter(pk=release_id).first()
    if release is None:
        raise ValidationError(_("There is no such firmware release."), fields={"params.release": [_("Unknown.")]})
    if actor is not None:
        _require_on_every_region(user=actor, release=release)  # who may not see it may not send it
    if release.state != FirmwareState.APPROVED:
        raise ValidationError(
            _("This firmware release is not approved; a second person must approve it first."),
            fields={"params.release": [_("Not approved.")]},
        )
    if release.expires_at <= now:
        raise ValidationError(
            _("This firmware release has expired; upload it again."), fields={"params.release": [_("Expired.")]}
        )
    codes = [r.code for r in regions] or [t.village_id for t in terminals]
    outside = [code for code in codes if not any(code.startswith(_prefix(area)) for area in release.regions)]
    if outside:
        raise ValidationError(
            _("This firmware is approved for %(areas)s only; %(codes)s lies outside.")
            % {"areas": ", ".join(release.regions), "codes": ", ".join(outside[:5])},
            fields={"regions": [_("Outside the release.")]},
        )
    of_model = Q()
    for model in release.device_models:
        of_model |= Q(model__iexact=model)
    targeted = (
        terminals_in_regions(regions=regions) if regions else Terminal.objects.filter(pk__in=[t.pk for t in terminals])
    )
    if not targeted.filter(of_model).exists():
        raise ValidationError(
            _("None of the chosen terminals is registered as %(models)s, the models this firmware is for.")
            % {"models": ", ".join(release.device_models)},
            fields={"regions": [_("No terminal of these models.")]},
        )
    return {
        "release": release.pk,
        "version": release.version,
        "url": firmware_url(release.sha256),
        "sha256": release.sha256,
        "size": release.size,
        "manifest": release.manifest,
    }


def _prefix(code: str) -> str:
    return code_prefix(code)
