"""Checking a backup, and restoring it onto a fresh instance.

Order matters: everything that can refuse runs before the first write. (1) the manifest and, when
the backup holds keys, its HMAC under the passphrase; (2) every file's size and SHA-256; (3) the
encrypted keys open (GCM checks them too); (4) this code knows every migration the backup has
applied; (5) the target is empty: no table in its database, no private key, no media or upload file,
no broker state. Only then is anything written; each file is checked again as it is copied.
A restore never merges into a running instance: restore into a new database and RUN_DIR, check it,
then switch over.
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.utils.translation import gettext as _
from ruralcast_terminal import crypto as signatures

from ruralcast.audit.selectors import audit_chain_verify
from ruralcast.backups import crypto, database
from ruralcast.backups.create import MEDIA_SKIP, broker_state_file, media_root, uploads_root
from ruralcast.backups.manifest import (
    KEYS_FILE,
    BackupError,
    checked_relative,
    copy_with_digest,
    file_digest,
    has_files,
    manifest_read,
)
from ruralcast.signing.keystore import DIRECTORY_MODE, FILE_MODE, FileKeyStore, keystore_get
from ruralcast.signing.models import SigningKey

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SERIAL = re.compile(r"[0-9]{12}")
Say = Callable[[str], None]


@dataclass
class VerifiedBackup:
    """A backup whose every file matched its manifest; `keys` holds the decrypted key files."""

    directory: Path
    manifest: dict[str, Any]
    authenticated: bool
    keys: dict[str, str] | None = None

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest["files"])


@dataclass
class RestoreReport:
    files: int = 0
    bytes: int = 0
    keys_restored: list[str] = field(default_factory=list)
    keys_checked: list[str] = field(default_factory=list)
    keys_missing: list[str] = field(default_factory=list)
    keys_expected: bool = True
    audit_checked: int = 0
    audit_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The audit chain verifies and, when the keys were restored, every trusted key signs."""
        return not self.audit_problems and not (self.keys_expected and self.keys_missing)


def backup_verify(*, directory: Path, passphrase: str | None, with_keys: bool = True) -> VerifiedBackup:
    """Check the backup in `directory` completely, without writing anything; raise BackupError
    naming every problem found."""
    directory = directory.resolve()
    manifest = manifest_read(directory)
    keys_meta: dict[str, Any] = manifest["keys"] if isinstance(manifest.get("keys"), dict) else {}
    backup_keys: crypto.BackupKeys | None = None
    if keys_meta.get("included"):
        if passphrase:
            backup_keys = crypto.keys_derive(passphrase, keys_meta.get("kdf"))
            crypto.manifest_check(manifest, backup_keys)
        elif with_keys:
            raise BackupError(
                _(
                    "This backup holds the signing keys, encrypted: set %(env)s (or pass --passphrase-file) "
                    "to restore them, or restore without them with --no-keys."
                )
                % {"env": crypto.PASSPHRASE_ENV}
            )
    problems = _file_problems(directory, manifest["files"])
    database_meta: dict[str, Any] = manifest["database"] if isinstance(manifest.get("database"), dict) else {}
    listed = {str(entry.get("path")) for entry in manifest["files"] if isinstance(entry, dict)}
    if database_meta.get("file") not in (database.SQLITE_FILE, database.POSTGRES_FILE) or (
        database_meta.get("file") not in listed
    ):
        problems.append(_("The manifest names no database snapshot."))
    if problems:
        raise BackupError(
            _("The backup is damaged; nothing was restored:\n%(problems)s") % {"problems": "\n".join(problems)}
        )
    verified = VerifiedBackup(directory=directory, manifest=manifest, authenticated=backup_keys is not None)
    if backup_keys is not None and with_keys:
        verified.keys = _keys_open(directory, manifest, backup_keys)
    return verified


def _file_problems(directory: Path, entries: list[Any]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
            and _SHA256.fullmatch(entry["sha256"])
        ):
            problems.append(_("A manifest entry is malformed: %(entry)r") % {"entry": entry})
            continue
        relative = checked_relative(entry["path"])
        if str(relative) in seen:
            problems.append(_("%(path)s is listed twice.") % {"path": relative})
            continue
        seen.add(str(relative))
        path = directory / relative
        if path.is_symlink() or not path.is_file():
            problems.append(_("%(path)s is missing.") % {"path": relative})
            continue
        size, sha256 = file_digest(path)
        if size != entry["size"]:
            problems.append(
                _("%(path)s has %(found)d bytes, the manifest says %(expected)d.")
                % {"path": relative, "found": size, "expected": entry["size"]}
            )
        elif sha256 != entry["sha256"]:
            problems.append(_("%(path)s does not match its SHA-256 (altered or damaged).") % {"path": relative})
    return problems


def _keys_open(directory: Path, manifest: dict[str, Any], backup_keys: crypto.BackupKeys) -> dict[str, str]:
    meta = manifest["keys"]
    plaintext = crypto.unseal(
        (directory / KEYS_FILE).read_bytes(),
        keys=backup_keys,
        nonce=str(meta.get("nonce", "")),
        aad=f"ruralcast-backup:{manifest.get('backup_id')}:keys".encode(),
    )
    try:
        document = json.loads(plaintext)
        keys = document["keys"]
        valid = document.get("v") == 1 and all(
            isinstance(serial, str) and _SERIAL.fullmatch(serial) and isinstance(text, str)
            for serial, text in keys.items()
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise BackupError(_("The encrypted keys opened but do not hold key files."))
    return dict(keys)


def target_problems() -> list[str]:
    """Why this instance is not an empty target (nothing when it is)."""
    problems = []
    tables = database.table_names()
    if tables:
        problems.append(
            _("The database already has %(n)d tables: restore into a new, empty database.") % {"n": len(tables)}
        )
    store = keystore_get()
    if isinstance(store, FileKeyStore) and store.directory.is_dir() and any(store.directory.glob("*.key")):
        problems.append(_("%(path)s already holds private keys.") % {"path": store.directory})
    if has_files(media_root(), skip=MEDIA_SKIP):
        problems.append(_("MEDIA_ROOT (%(path)s) is not empty.") % {"path": media_root()})
    if has_files(uploads_root()):
        problems.append(_("The upload folder (%(path)s) is not empty.") % {"path": uploads_root()})
    if broker_state_file().exists():
        problems.append(_("The broker already has a state file (%(path)s).") % {"path": broker_state_file()})
    return problems


def backup_restore(
    *,
    directory: Path,
    passphrase: str | None,
    with_keys: bool = True,
    migrate: bool = True,
    say: Say | None = None,
) -> RestoreReport:
    """Restore the backup in `directory` onto this (empty) instance; see the module docstring."""
    say = say or (lambda _line: None)
    verified = backup_verify(directory=directory, passphrase=passphrase, with_keys=with_keys)
    say(_("Backup verified: %(n)d files match the manifest.") % {"n": len(verified.files)})
    manifest = verified.manifest
    if manifest["database"].get("vendor") != database.vendor():
        raise BackupError(
            _("This is a %(backup)s backup; this instance uses %(here)s. Restore it into the same kind of database.")
            % {"backup": manifest["database"].get("vendor"), "here": database.vendor()}
        )
    unknown = database.unknown_migrations(list(manifest["database"].get("migrations", [])))
    if unknown:
        raise BackupError(
            _("The backup comes from a newer ruralcast (%(version)s): install it first. Unknown migrations: %(names)s")
            % {"version": manifest.get("versions", {}).get("ruralcast", "?"), "names": ", ".join(unknown[:10])}
        )
    problems = target_problems()
    if problems:
        raise BackupError(
            _("This instance is not empty; nothing was restored:\n%(problems)s") % {"problems": "\n".join(problems)}
        )

    report = RestoreReport(keys_expected=verified.keys is not None)
    database.load(verified.directory / manifest["database"]["file"])
    say(_("Database restored (%(vendor)s).") % {"vendor": database.vendor()})
    if verified.keys is not None:
        report.keys_restored = _keys_write(verified.keys)
        say(_("Signing keys restored: %(serials)s.") % {"serials": ", ".join(report.keys_restored) or "—"})
    _files_copy(verified, report)
    say(_("Files restored: %(n)d (%(bytes)d bytes).") % {"n": report.files, "bytes": report.bytes})
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    _check_keys(report)
    chain = audit_chain_verify()
    report.audit_checked, report.audit_problems = chain.checked, chain.problems
    return report


def _keys_write(keys: dict[str, str]) -> list[str]:
    store = keystore_get()
    if not isinstance(store, FileKeyStore):
        raise BackupError(_("This instance keeps keys in a crypto device: restore with --no-keys."))
    store.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.chmod(store.directory, DIRECTORY_MODE)
    for serial, text in sorted(keys.items()):
        fd = os.open(store.path(serial), os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    return sorted(keys)


def _files_copy(verified: VerifiedBackup, report: RestoreReport) -> None:
    roots = {"media": media_root(), "uploads": uploads_root(), "broker": broker_state_file().parent}
    for entry in verified.files:
        relative = checked_relative(entry["path"])
        section = relative.parts[0]
        if section not in roots:
            continue  # the database and the keys are restored above
        target = roots[section].joinpath(*relative.parts[1:])
        mode = 0o600 if section == "broker" else 0o644
        size, sha256 = copy_with_digest(verified.directory / relative, target, mode=mode)
        if sha256 != entry["sha256"]:
            raise BackupError(
                _("%(path)s changed while it was being restored; the restore is incomplete.") % {"path": relative}
            )
        report.files += 1
        report.bytes += size


def _check_keys(report: RestoreReport) -> None:
    """Each trusted key of the restored database signs a probe that verifies with its public key
    (without restored keys, only the active key counts: nothing could sign without it)."""
    store = keystore_get()
    probe = b"ruralcast restore check"
    for key in SigningKey.objects.exclude(status=SigningKey.Status.REVOKED).order_by("serial"):
        try:
            signature = store.sign(serial=key.serial, alg=key.alg, data=probe)
        except Exception:  # noqa: BLE001 — a missing or unusable key is reported, whatever the cause
            if report.keys_expected or key.status == SigningKey.Status.ACTIVE:
                report.keys_missing.append(key.serial)
            continue
        if signatures.verify(key.alg, key.public_key_bytes, probe, signature):
            report.keys_checked.append(key.serial)
        else:
            report.keys_missing.append(key.serial)
