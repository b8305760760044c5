"""Firmware files for the `firmware` command: stored by content, described by a signed manifest.

`firmware_store` keeps the file as `firmware/<sha256>.bin` (served at
`/terminals/firmware/<sha256>.bin`) and returns the command parameters: `version`, `url`, `sha256`,
`size` and `manifest`, the base64 of an envelope (protocols.md §3) signed by the platform's active
key over `{"kind": "firmware", "version", "sha256", "size"}`. A terminal checks the manifest against
its trust list and the downloaded file against the manifest's SHA-256 before installing anything.
"""

import base64
import hashlib
import re
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ValidationError

MAX_BYTES = 64 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def firmware_name(sha256: str) -> str:
    return f"firmware/{sha256}.bin"


def firmware_store(*, actor: Any, data: bytes, version: str) -> dict[str, Any]:
    """Keep a firmware file and return the parameters of a `firmware` command for it."""
    from ruralcast.signing.services import payload_sign

    if actor is not None:
        access_require_somewhere(user=actor, action=Action.TERMINAL_CONTROL)
    version = (version or "").strip()
    if not version or len(version) > 50:
        raise ValidationError(
            _("Give the firmware version (at most 50 characters)."), fields={"version": [_("Required.")]}
        )
    if not data or len(data) > MAX_BYTES:
        raise ValidationError(_("A firmware file is 1 byte to 64 MB."), fields={"file": [_("Wrong size.")]})
    sha256 = hashlib.sha256(data).hexdigest()
    if not default_storage.exists(firmware_name(sha256)):
        default_storage.save(firmware_name(sha256), ContentFile(data))
    manifest = payload_sign(payload={"kind": "firmware", "version": version, "sha256": sha256, "size": len(data)})
    path = reverse("terminals:firmware", args=[sha256])
    return {
        "version": version,
        "url": settings.RURALCAST_PUBLIC_URL.rstrip("/") + path,
        "sha256": sha256,
        "size": len(data),
        "manifest": base64.b64encode(manifest).decode("ascii"),
    }


def firmware_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check the parameters of a `firmware` command: a stored file and its manifest."""
    sha256 = params.get("sha256")
    if (
        not isinstance(sha256, str)
        or not _SHA256.fullmatch(sha256)
        or not default_storage.exists(firmware_name(sha256))
    ):
        raise ValidationError(_("Upload the firmware file first."), fields={"params.sha256": [_("Unknown file.")]})
    for name in ("version", "url", "manifest"):
        if not isinstance(params.get(name), str) or not params[name]:
            raise ValidationError(
                _("The firmware parameters are incomplete."), fields={f"params.{name}": [_("Required.")]}
            )
    if isinstance(params.get("size"), bool) or not isinstance(params.get("size"), int):
        raise ValidationError(_("The firmware parameters are incomplete."), fields={"params.size": [_("Required.")]})
    return {k: params[k] for k in ("version", "url", "sha256", "size", "manifest")}
