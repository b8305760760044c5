"""The EBD package platforms exchange: `EBDT_<EBDID>.tar` (ebm-format.md §4 and §7).

It holds the packet `EBDB_<EBDID>.xml` (`ebm.alert_to_ebm`), its signature file
`EBDS_EBDB_<EBDID>.xml` over the exact bytes of that packet, and the MP3 named in `Auxiliary`.
The signature is made by the platform's active signing key (ruralcast.signing, the same key store
that signs terminal payloads) in the 2018+ form: `Version`, `RelatedEBD/EBDID`, `CertSN` (our
12-digit key serial), `SignatureAlgorithm` and the Base64 `SignatureValue` (SM2-SM3: the 64-byte
r‖s). Only an approved message is packaged: a signed packet of a draft could be replayed to another
platform as if it had been approved.
"""

import base64
import io
import tarfile
from datetime import datetime

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree
from ruralcast_terminal import crypto

from ruralcast.alerts.formats.ebm import alert_to_ebm, audio_file_name, ebd_id
from ruralcast.alerts.models import Alert, State
from ruralcast.core.errors import Conflict
from ruralcast.signing.errors import KeyStoreError
from ruralcast.signing.keystore import keystore_get
from ruralcast.signing.selectors import signing_key_active

SIGNATURE_VERSION = "1.0"
_PACKAGED_STATES = {State.APPROVED, State.DISPATCHED, State.UPDATED, State.CANCELLED, State.EXPIRED}


def ebd_signature(*, ebdid: str, data: bytes) -> bytes:
    """The signature file `EBDS_EBDB_<EBDID>.xml` for the packet bytes `data` (active key)."""
    key = signing_key_active()
    signature = keystore_get().sign(serial=key.serial, alg=key.alg, data=data)
    if not crypto.verify(key.alg, key.public_key_bytes, data, signature):
        raise KeyStoreError(
            _("The key store's private key for %(serial)s does not match its public key: rotate the key.")
            % {"serial": key.serial}
        )
    root = etree.Element("Signature")
    etree.SubElement(root, "Version").text = SIGNATURE_VERSION
    etree.SubElement(etree.SubElement(root, "RelatedEBD"), "EBDID").text = ebdid
    etree.SubElement(root, "CertSN").text = key.serial
    etree.SubElement(root, "SignatureAlgorithm").text = key.alg
    etree.SubElement(root, "SignatureValue").text = base64.b64encode(signature).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def ebd_package(alert: Alert, *, dest: str = "", now: datetime | None = None) -> bytes:
    """The bytes of `EBDT_<EBDID>.tar` for an approved message (Conflict otherwise)."""
    if alert.state not in _PACKAGED_STATES:
        raise Conflict(
            _("Only an approved message can be packaged and signed; this one is %(state)s.")
            % {"state": alert.get_state_display()}
        )
    now = now or timezone.now()
    ebdid = ebd_id(alert)
    body = alert_to_ebm(alert, dest=dest, now=now)
    members = [(f"EBDB_{ebdid}.xml", body), (f"EBDS_EBDB_{ebdid}.xml", ebd_signature(ebdid=ebdid, data=body))]
    if alert.audio_sha256:
        try:
            with default_storage.open(alert.audio_name, "rb") as handle:
                members.append((audio_file_name(alert), handle.read()))
        except OSError as error:
            raise Conflict(_("The message's audio is missing from storage.")) from error
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ebd_package_name(alert: Alert) -> str:
    return f"EBDT_{ebd_id(alert)}.tar"
