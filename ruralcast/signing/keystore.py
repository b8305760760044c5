"""Where private signing keys live, behind a small interface a crypto card can implement.

GY/T 389 deployments sign with a hardware crypto card (密码卡) or USB key (UKey): the private key is
generated inside the device and never leaves it; the host asks the device to sign. `KeyStore` is
shaped for that: `create` returns only the public key and `sign` returns only a signature, so a card
driver can replace `FileKeyStore` without touching the services (swap it in `keystore_get`).

`FileKeyStore`, the default, keeps each private key in `<RUN_DIR>/keys/<serial>.key`, mode 0600 in a
0700 folder, as a small JSON document `{"v": 1, "serial", "alg", "private_key": base64}` (the raw
32-byte Ed25519 seed or SM2 scalar, see ruralcast_terminal.crypto). It refuses to overwrite a key
file, and refuses to use one that group or others may read. Back the folder up like a password
vault: losing it means rotating to a new key and re-provisioning terminals that missed the update.
"""

import base64
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from ruralcast_terminal import crypto

from ruralcast.signing.errors import KeyStoreError

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class KeyStore(Protocol):
    """Keeps private keys; the platform only ever sees public keys and signatures."""

    def create(self, *, serial: str, alg: str) -> bytes:
        """Generate and keep a private key for `serial`; return its public key (protocols.md §6)."""
        ...

    def sign(self, *, serial: str, alg: str, data: bytes) -> bytes:
        """The 64-byte signature of `data` with the private key of `serial`."""
        ...

    def exists(self, *, serial: str) -> bool:
        """Whether a private key is kept under `serial` (serials are never reused)."""
        ...

    def destroy(self, *, serial: str) -> None:
        """Forget the private key of `serial` (after revocation). No error if it is gone already."""
        ...


class FileKeyStore:
    """Private keys as 0600 files in one folder (the default; see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, serial: str) -> Path:
        if not (len(serial) == 12 and serial.isascii() and serial.isdigit()):
            raise ValueError(f"a key serial is 12 digits, not {serial!r}")
        return self.directory / f"{serial}.key"

    def create(self, *, serial: str, alg: str) -> bytes:
        path = self.path(serial)
        self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(self.directory, DIRECTORY_MODE)
        private = crypto.generate_private_key(alg)
        document = {"v": 1, "serial": serial, "alg": alg, "private_key": base64.b64encode(private).decode()}
        # O_EXCL: never overwrite a key; the mode is given at creation so no moment is world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, json.dumps(document).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return crypto.public_key_of(alg, private)

    def _private(self, *, serial: str, alg: str) -> bytes:
        path = self.path(serial)
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except FileNotFoundError:
            raise KeyStoreError(
                _("The private key of signing key %(serial)s is missing from %(path)s.")
                % {"serial": serial, "path": path}
            ) from None
        if stat.S_IMODE(mode) & 0o077:
            raise KeyStoreError(
                _("%(path)s may be read by other users: run chmod 600 on it, then rotate the key.") % {"path": path}
            )
        try:
            document = json.loads(text)
            private = base64.b64decode(document["private_key"], validate=True)
            matches = (
                document["serial"] == serial and document["alg"] == alg and len(private) == crypto.PRIVATE_KEY_LENGTH
            )
        except (ValueError, KeyError, TypeError):
            matches = False
        if not matches:
            raise KeyStoreError(
                _("%(path)s does not hold the %(alg)s key %(serial)s.") % {"path": path, "alg": alg, "serial": serial}
            )
        return private

    def sign(self, *, serial: str, alg: str, data: bytes) -> bytes:
        return crypto.sign(alg, self._private(serial=serial, alg=alg), data)

    def exists(self, *, serial: str) -> bool:
        return self.path(serial).exists()

    def destroy(self, *, serial: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(serial).unlink()


def keystore_get() -> KeyStore:
    """The deployment's key store. A crypto-card driver replaces `FileKeyStore` here."""
    return FileKeyStore(Path(settings.RUN_DIR) / "keys")
