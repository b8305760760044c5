"""The backup passphrase and what it protects: the private signing keys and the manifest.

One scrypt derivation (N = 2^17, r = 8, p = 1: about 128 MiB and half a second, so guessing a
passphrase offline is slow) gives 64 bytes: the first 32 are the AES-256-GCM key of `keys.enc`, the
last 32 the HMAC-SHA256 key of the manifest. A wrong passphrase, a changed byte in `keys.enc` or in
the manifest is therefore refused before anything is restored. The passphrase comes from the
environment (`RURALCAST_BACKUP_PASSPHRASE`) or a file (`--passphrase-file`,
`RURALCAST_BACKUP_PASSPHRASE_FILE`); it is never written into the backup. Keep it in the bureau's
password vault, apart from the backups.
"""

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.utils.translation import gettext as _

from ruralcast.backups.manifest import BackupError, canonical

PASSPHRASE_ENV = "RURALCAST_BACKUP_PASSPHRASE"  # noqa: S105 — the name of a variable
PASSPHRASE_FILE_ENV = "RURALCAST_BACKUP_PASSPHRASE_FILE"  # noqa: S105 — the name of a variable
MIN_PASSPHRASE_CHARS = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
CIPHER = "AES-256-GCM"


def passphrase_read(*, file: Path | None = None) -> str | None:
    """The passphrase from `file`, else from the file the environment names, else from the
    environment itself; None when none is given. Refused when shorter than 12 characters."""
    file = file or (Path(os.environ[PASSPHRASE_FILE_ENV]) if os.environ.get(PASSPHRASE_FILE_ENV) else None)
    if file is not None:
        try:
            passphrase = file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise BackupError(
                _("Cannot read the passphrase file %(path)s: %(error)s") % {"path": file, "error": error.strerror}
            ) from None
    else:
        passphrase = os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        return None
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise BackupError(
            _("The backup passphrase has fewer than %(n)d characters; choose a longer one.")
            % {"n": MIN_PASSPHRASE_CHARS}
        )
    return passphrase


@dataclass(frozen=True)
class BackupKeys:
    """The two keys derived from the passphrase, and the KDF parameters the manifest records."""

    encryption: bytes
    authentication: bytes
    kdf: dict[str, Any]


def keys_derive(passphrase: str, kdf: dict[str, Any] | None = None) -> BackupKeys:
    """Derive the keys; with `kdf` (from a manifest) its salt and parameters, else new ones."""
    if kdf is None:
        kdf = {
            "name": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(secrets.token_bytes(16)).decode(),
        }
    try:
        if kdf.get("name") != "scrypt":
            raise ValueError(kdf.get("name"))
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        # Bounds: a manipulated manifest must not make the restore allocate gigabytes.
        if not (2**14 <= n <= 2**20 and 1 <= r <= 16 and 1 <= p <= 4):
            raise ValueError((n, r, p))
        salt = base64.b64decode(kdf["salt"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise BackupError(_("The manifest's key derivation parameters are not valid.")) from None
    material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return BackupKeys(encryption=material[:32], authentication=material[32:], kdf=kdf)


def manifest_sign(document: dict[str, Any], keys: BackupKeys) -> str:
    return hmac.new(keys.authentication, canonical(document), hashlib.sha256).hexdigest()


def manifest_check(document: dict[str, Any], keys: BackupKeys) -> None:
    expected = manifest_sign(document, keys)
    if not hmac.compare_digest(expected, str(document.get("hmac_sha256", ""))):
        raise BackupError(
            _("The manifest does not match the passphrase: the passphrase is wrong or the manifest was altered.")
        )


def seal(plaintext: bytes, *, keys: BackupKeys, aad: bytes) -> tuple[bytes, str]:
    """(ciphertext with its tag, base64 nonce). `aad` binds the ciphertext to one backup."""
    nonce = secrets.token_bytes(12)
    return AESGCM(keys.encryption).encrypt(nonce, plaintext, aad), base64.b64encode(nonce).decode()


def unseal(ciphertext: bytes, *, keys: BackupKeys, nonce: str, aad: bytes) -> bytes:
    try:
        return AESGCM(keys.encryption).decrypt(base64.b64decode(nonce, validate=True), ciphertext, aad)
    except (InvalidTag, ValueError):
        raise BackupError(
            _("The encrypted keys cannot be opened: the passphrase is wrong or keys.enc was altered.")
        ) from None
