"""Writing a backup (see the package docstring for what goes where).

The database goes first, then the keys and the files: every file a database row names existed when
the snapshot was taken, so it is copied unless it was deleted in the seconds between, and a key or
file made after the snapshot is harmless extra. The keys are checked against the keys the database
trusts (a trusted key without its private half refuses the backup). One gap remains: a key revoked
in the seconds between the snapshot and the key copy is trusted in the snapshot but gone from the
store; the restore then reports it, and a rotation is the fix.
"""

import json
import os
import platform
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.backups import crypto, database
from ruralcast.backups.manifest import (
    FORMAT,
    FORMAT_VERSION,
    KEYS_FILE,
    BackupError,
    copy_with_digest,
    file_digest,
    manifest_write,
    tree_files,
)
from ruralcast.messaging.broker import PERSISTENCE_FILE, broker_dir
from ruralcast.signing.keystore import FileKeyStore, keystore_get
from ruralcast.signing.models import SigningKey

# Scratch folder of the media pipeline inside MEDIA_ROOT (media.pipeline.work_root): not state.
MEDIA_SKIP = frozenset({".work"})
BROKER_FILES_REGENERATED = ["mosquitto.conf", "passwords", "acl", "platform.password"]


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def uploads_root() -> Path:
    return Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"])


def broker_state_file() -> Path:
    return broker_dir() / PERSISTENCE_FILE


@dataclass
class BackupReport:
    directory: Path
    files: int = 0
    bytes: int = 0
    key_serials: list[str] = field(default_factory=list)
    database: str = ""


def ruralcast_version() -> str:
    """`0.1.0+<commit>` when the code is a git checkout, else the package version."""
    version = "0.1.0"
    try:
        commit = subprocess.run(
            ["git", "-C", str(settings.BASE_DIR), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+{commit}" if commit else version


def _prepare_directory(out: Path) -> bool:
    """Create `out` (0700) or accept it empty; returns whether it was created here."""
    out = out.resolve()
    for inside in (media_root(), uploads_root(), broker_dir(), Path(settings.RUN_DIR) / "keys"):
        if out == inside.resolve() or inside.resolve() in out.parents:
            raise BackupError(
                _("Write the backup outside %(folder)s: it would copy itself.") % {"folder": inside.resolve()}
            )
    if out.exists():
        if not out.is_dir() or any(out.iterdir()):
            raise BackupError(_("%(path)s exists and is not an empty folder; name a new one.") % {"path": out})
        os.chmod(out, 0o700)
        return False
    out.mkdir(mode=0o700, parents=True)
    return True


def _key_files(store: FileKeyStore) -> dict[str, str]:
    """serial → the key file's text, for every key the store holds."""
    found: dict[str, str] = {}
    if store.directory.is_dir():
        for path in sorted(store.directory.glob("*.key")):
            serial = path.stem
            if len(serial) == 12 and serial.isdigit():
                found[serial] = path.read_text()
    return found


def _keys_section(*, out: Path, passphrase: str, backup_id: str, report: BackupReport) -> dict[str, Any]:
    store = keystore_get()
    if not isinstance(store, FileKeyStore):
        raise BackupError(
            _(
                "The private keys live in a crypto device, not in files: back them up the device's way "
                "and run the backup with --no-keys."
            )
        )
    files = _key_files(store)
    trusted = set(SigningKey.objects.exclude(status=SigningKey.Status.REVOKED).values_list("serial", flat=True))
    missing = sorted(trusted - set(files))
    if missing:
        raise BackupError(
            _("The key store lacks the private key of trusted key(s) %(serials)s; fix the key store first.")
            % {"serials": ", ".join(missing)}
        )
    keys = crypto.keys_derive(passphrase)
    plaintext = json.dumps({"v": 1, "keys": files}, sort_keys=True).encode()
    ciphertext, nonce = crypto.seal(plaintext, keys=keys, aad=_keys_aad(backup_id))
    fd = os.open(out / KEYS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(ciphertext)
        handle.flush()
        os.fsync(handle.fileno())
    report.key_serials = sorted(files)
    return {
        "included": True,
        "file": KEYS_FILE,
        "serials": sorted(files),
        "cipher": crypto.CIPHER,
        "nonce": nonce,
        "kdf": keys.kdf,
        "_keys": keys,  # popped before the manifest is written
    }


def _keys_aad(backup_id: str) -> bytes:
    return f"ruralcast-backup:{backup_id}:keys".encode()


def backup_create(*, out: Path, passphrase: str | None, include_keys: bool = True) -> BackupReport:
    """Write a complete backup of this instance into the new folder `out`.

    Refuses to back up the signing keys without a passphrase (pass `include_keys=False` to leave
    them out, e.g. where a crypto card holds them). On any failure the partial folder is removed, so
    a folder with a manifest is always a complete backup.
    """
    if include_keys and not passphrase:
        raise BackupError(
            _(
                "The signing keys are backed up encrypted: set %(env)s (or pass --passphrase-file), "
                "or leave the keys out with --no-keys."
            )
            % {"env": crypto.PASSPHRASE_ENV}
        )
    created = _prepare_directory(out)
    report = BackupReport(directory=out.resolve(), database=database.vendor())
    try:
        document = _write(out=report.directory, passphrase=passphrase, include_keys=include_keys, report=report)
        manifest_write(report.directory, document)
    except BaseException:
        if created:
            shutil.rmtree(report.directory, ignore_errors=True)
        else:
            for child in report.directory.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    return report


def _write(*, out: Path, passphrase: str | None, include_keys: bool, report: BackupReport) -> dict[str, Any]:
    backup_id = uuid.uuid4().hex
    created_at = timezone.now()
    files: list[dict[str, Any]] = []

    def add(relative: str, size: int, sha256: str) -> None:
        files.append({"path": relative, "size": size, "sha256": sha256})
        report.files += 1
        report.bytes += size

    database_path = database.database_file()
    database.dump(out / database_path)
    add(database_path, *file_digest(out / database_path))
    migrations = database.applied_migrations()

    keys_section: dict[str, Any] = {"included": False, "reason": "--no-keys"}
    if include_keys:
        assert passphrase is not None
        keys_section = _keys_section(out=out, passphrase=passphrase, backup_id=backup_id, report=report)
        add(KEYS_FILE, *file_digest(out / KEYS_FILE))

    for section, root, skip in (("media", media_root(), MEDIA_SKIP), ("uploads", uploads_root(), frozenset())):
        for source, relative in tree_files(root, skip=skip):
            target = f"{section}/{relative}"
            add(target, *copy_with_digest(source, out / target))
    broker_files = []
    if broker_state_file().is_file():
        target = f"broker/{PERSISTENCE_FILE}"
        # mosquitto writes its state to a new file and renames it, so this reads a whole one.
        add(target, *copy_with_digest(broker_state_file(), out / target))
        broker_files.append(target)

    backup_keys = keys_section.pop("_keys", None)
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backup_id": backup_id,
        "created_at": created_at.isoformat(),
        "host": socket.gethostname(),
        "versions": {
            "ruralcast": ruralcast_version(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "database": database.server_version(),
        },
        "database": {"vendor": database.vendor(), "file": database_path, "migrations": migrations},
        "keys": keys_section,
        "broker": {
            "files": broker_files,
            "regenerated": BROKER_FILES_REGENERATED,
            "note": "broker_run writes its configuration, passwords and ACL from the database on every start",
        },
        "not_included": [
            "DJANGO_SECRET_KEY / RUN_DIR/secret_key (configuration: keep it with the server's environment)",
            "the backup passphrase",
            "RUN_DIR/live (audio of live sessions in progress), RUN_DIR/sim (the demo's simulator files)",
        ],
        "files": files,
        "totals": {"files": report.files, "bytes": report.bytes},
    }
    if backup_keys is not None:
        document["hmac_sha256"] = crypto.manifest_sign(document, backup_keys)
    return document
