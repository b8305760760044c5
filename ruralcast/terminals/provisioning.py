"""Provisioning files and labels: what an installer needs to bring one terminal onto the platform.

A provisioning file is the JSON the agent reads (`ruralcast-terminal provision FILE`, then
`ruralcast-terminal agent --config …`): the terminal's id and village, the broker's address, its
own user name and password (issued by `terminal_credentials_issue`, shown once, never stored in
clear), the CA its TLS connection pins (`broker_ca`, when the broker has a TLS listener), the
trust list of the platform's signing keys, the status interval and the languages it plays (the
terminal's own preference, else the deployment's). The same document travels as a QR code (`RCP1:` + base64url of the zlib-compressed JSON) for installers who scan it
into the device; both carry the password, so they are handed over like a key, never stuck on the
device. The **asset label** that is stuck on the device carries only the code and the village.
"""

import base64
import io
import json
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any

import segno
from django.conf import settings
from django.utils import timezone

from ruralcast.messaging.broker import broker_dir
from ruralcast.messaging.tls import broker_ca_pem
from ruralcast.signing.selectors import trust_list_build
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.services import Registration

FORMAT = "ruralcast-provisioning"
VERSION = 1
QR_PREFIX = "RCP1:"
DEFAULT_STATUS_INTERVAL = 60
DEFAULT_FRESHNESS_SECONDS = 86400  # the agent's default window (ruralcast_terminal.config)


def broker_public_address() -> str:
    mqtt = settings.RURALCAST_MQTT
    port = int(mqtt.get("TLS_PORT") or 0) or mqtt["PORT"]
    return mqtt.get("PUBLIC_ADDRESS") or f"{mqtt['HOST']}:{port}"


def broker_tls_fields() -> dict[str, str]:
    """`broker_ca` (the PEM terminals pin) when the broker has a TLS listener; nothing otherwise."""
    if not int(settings.RURALCAST_MQTT.get("TLS_PORT") or 0):
        return {}
    return {"broker_ca": broker_ca_pem(broker_dir())}


def provisioning_document(*, registration: Registration, trust: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The provisioning file of a terminal whose credentials were just issued."""
    terminal = registration.terminal
    if not registration.password:
        raise ValueError("a provisioning file needs freshly issued credentials")
    return {
        "format": FORMAT,
        "v": VERSION,
        "issued_at": timezone.now().isoformat(timespec="seconds"),
        "terminal_id": terminal.code,
        "village_code": terminal.village_id,
        "name": terminal.name,
        "kind": terminal.kind,
        "model": terminal.model,  # a firmware manifest must name it (ruralcast_terminal.firmware)
        "broker": broker_public_address(),
        **broker_tls_fields(),
        "username": terminal.code,
        "password": registration.password,
        "trust": trust if trust is not None else trust_list_build().to_list(),
        "cache_dir": "cache",
        "status_interval": DEFAULT_STATUS_INTERVAL,
        "freshness_seconds": DEFAULT_FRESHNESS_SECONDS,  # protocols.md §4 rule 5; 600 to 604800
        # The languages the terminal plays, most preferred first (protocols.md §4, "Languages").
        "languages": terminal_languages(terminal),
    }


def terminal_languages(terminal: Terminal) -> list[str]:
    """The languages `terminal` plays, most preferred first: its own preference (set in the
    registry) or, when it has none, the deployment's `RURALCAST_TERMINAL_LANGUAGES`."""
    return list(terminal.languages or settings.RURALCAST_TERMINAL_LANGUAGES)


def provisioning_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def provisioning_qr_text(document: dict[str, Any]) -> str:
    """The document as the text of a QR code (compact: compressed, base64url)."""
    compact = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return QR_PREFIX + base64.urlsafe_b64encode(zlib.compress(compact, 9)).decode("ascii").rstrip("=")


def qr_svg(text: str, *, scale: int = 4) -> str:
    """An inline SVG QR code (error correction M) of `text`."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode("utf-8")


def asset_label_text(terminal: Terminal) -> str:
    """What the asset label's QR code says: no secret, just who the device is."""
    return f"ruralcast:terminal:{terminal.code}"


def provisioning_zip(documents: Iterable[dict[str, Any]]) -> bytes:
    """Provisioning files of many terminals in one ZIP: `<code>.json` each, plus `passwords.txt`
    (`<code>:<password>` lines, the simulator's and bulk tools' format)."""
    output = io.BytesIO()
    lines = []
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            archive.writestr(f"{document['terminal_id']}.json", provisioning_json(document))
            lines.append(f"{document['terminal_id']}:{document['password']}\n")
        archive.writestr("passwords.txt", "".join(lines))
    return output.getvalue()
