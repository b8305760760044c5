"""Firmware on the terminal: the checks between a `firmware` command and the installer.

A `firmware` command (docs/protocols.md §8) carries `params` = `{"version", "url", "sha256", "size",
"manifest"}`. The command itself is signed by the platform's broadcast key; the manifest, the base64
of an envelope of its own, must be signed by a key whose trust-list usage is **firmware** (§6): a
signature made for alerts is refused (`key_usage`), however valid. The signed manifest:

    {"kind": "firmware", "release": 12, "version": "2.1.0", "sha256": "…", "size": 1048576,
     "models": ["RC-IP-100"], "areas": ["522632000000"], "expires": "2026-12-31T00:00:00+08:00"}

`manifest_check` accepts it only for this terminal's model (its provisioning file's `model`), for a
village one of `areas` covers, before `expires`, agreeing with the command's own `sha256`, `size`
and `version`, and with a download URL (http or https, not a link-local address) that names the
file by its SHA-256 (`…/<sha256>.bin`). `download` fetches at most `size` bytes and `file_check`
requires the manifest's SHA-256 before anything is handed to the installer.

Pure functions, no state and no event loop (the agent runs `download` in a thread). Refusals are
`FirmwareRefused` (the command is answered `rejected`), download and file problems `FirmwareFailed`
(answered `failed`); both say why in one line for the operator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from ruralcast_terminal import protocol

KIND = "firmware"
MAX_BYTES = 256 * 1024 * 1024  # no firmware image of a village loudspeaker is larger
_HEX = frozenset("0123456789abcdef")


class FirmwareRefused(Exception):
    """The manifest does not allow this terminal to install the file (answered `rejected`)."""


class FirmwareFailed(Exception):
    """The file could not be fetched or does not match its manifest (answered `failed`)."""


@dataclass(frozen=True)
class Manifest:
    """A checked manifest and the command's download URL."""

    version: str
    sha256: str
    size: int
    models: tuple[str, ...]
    areas: tuple[str, ...]
    expires: datetime
    url: str


def _model_key(model: str) -> str:
    return model.strip().casefold()


def _sha256(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _url_problem(url: Any, sha256: str) -> str | None:
    if not isinstance(url, str):
        return "the download URL is missing"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the download URL is not http(s)"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    if address is not None and (address.is_link_local or address.is_unspecified or address.is_multicast):
        return f"the download URL points at {address}, not at the platform"
    if not parts.path.endswith(f"/{sha256}.bin"):
        return "the download URL does not name the file by its SHA-256"
    return None


def manifest_check(
    params: dict[str, Any], *, trust: protocol.TrustList, model: str, village_code: str, now: datetime
) -> Manifest:
    """The manifest of a `firmware` command's `params`, checked for this terminal; FirmwareRefused."""
    try:
        envelope = base64.b64decode(str(params.get("manifest", "")), validate=True)
        _, manifest = protocol.open_envelope(envelope, trust)
    except (binascii.Error, ValueError) as error:
        raise FirmwareRefused(f"the manifest is not base64: {error}") from None
    except protocol.Rejected as rejected:
        raise FirmwareRefused(f"manifest {rejected.reason}: {rejected.detail}") from None
    if manifest.get("kind") != KIND:
        raise FirmwareRefused(f"the manifest is not a firmware manifest (kind {manifest.get('kind')!r})")
    sha256, size, version = manifest.get("sha256"), manifest.get("size"), manifest.get("version")
    models, areas = manifest.get("models"), manifest.get("areas")
    if not (
        _sha256(sha256)
        and type(size) is int
        and 0 < size <= MAX_BYTES
        and isinstance(version, str)
        and version
        and isinstance(models, list)
        and models
        and all(isinstance(m, str) and m.strip() for m in models)
        and isinstance(areas, list)
        and areas
        and all(isinstance(a, str) and len(a) == 12 and a.isdigit() for a in areas)
    ):
        raise FirmwareRefused("the manifest lacks sha256, size, version, models or areas")
    try:
        expires = datetime.fromisoformat(str(manifest.get("expires")))
    except ValueError:
        raise FirmwareRefused("the manifest's expires is not a time") from None
    if expires.tzinfo is None:
        raise FirmwareRefused("the manifest's expires has no UTC offset")
    if (params.get("sha256"), params.get("size"), params.get("version")) != (sha256, size, version):
        raise FirmwareRefused("the command and its manifest describe different files")
    if now > expires:
        raise FirmwareRefused(f"the manifest expired at {expires.isoformat()}")
    if not model.strip():
        raise FirmwareRefused("this terminal does not know its model (set model in its provisioning file)")
    if _model_key(model) not in {_model_key(m) for m in models}:
        raise FirmwareRefused(f"the firmware is for {', '.join(models)}, this terminal is {model}")
    if not any(protocol.area_covers(area, village_code) for area in areas):
        raise FirmwareRefused(f"the firmware is for {', '.join(areas)}, not village {village_code}")
    problem = _url_problem(params.get("url"), sha256)
    if problem:
        raise FirmwareRefused(problem)
    return Manifest(
        version=version,
        sha256=sha256,
        size=size,
        models=tuple(models),
        areas=tuple(areas),
        expires=expires,
        url=str(params["url"]),
    )


def file_check(raw: bytes, manifest: Manifest) -> None:
    """FirmwareFailed unless `raw` is exactly the file the manifest names."""
    if len(raw) != manifest.size:
        raise FirmwareFailed(f"the file is {len(raw)} bytes, the manifest says {manifest.size}")
    if hashlib.sha256(raw).hexdigest() != manifest.sha256:
        raise FirmwareFailed("the file does not match the manifest's SHA-256")


def download(manifest: Manifest, *, timeout: float = 60.0) -> bytes:
    """The file of a checked manifest, fetched (at most `size` bytes read) and checked. Blocking."""
    try:
        with urllib.request.urlopen(manifest.url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            raw: bytes = response.read(manifest.size + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise FirmwareFailed(f"firmware download failed: {error}") from None
    file_check(raw, manifest)
    return raw
