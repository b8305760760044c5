"""The manifest of a backup and the file plumbing both directions share: checksummed copies and
paths that cannot leave the folders they belong to."""

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from django.utils.translation import gettext as _

from ruralcast.core.errors import ApplicationError

FORMAT = "ruralcast-backup"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
KEYS_FILE = "keys.enc"
# The top-level folders a manifest may name; anything else (an absolute path, `..`) is refused.
SECTIONS = ("database", "media", "uploads", "broker")
_CHUNK = 1024 * 1024


class BackupError(ApplicationError):
    """A backup cannot be written, verified or restored; the message says what to do."""

    status_code = 400
    code = "backup"


def file_digest(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def copy_with_digest(source: Path, target: Path, *, mode: int = 0o600) -> tuple[int, str]:
    """Copy `source` to a new file `target` (never overwriting), fsync it; return (size, SHA-256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with source.open("rb") as reader, os.fdopen(fd, "wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return size, digest.hexdigest()


def tree_files(root: Path, *, skip: frozenset[str] = frozenset()) -> Iterator[tuple[Path, PurePosixPath]]:
    """Every regular file under `root` as (absolute path, relative POSIX path), sorted, without
    following symbolic links; top-level names in `skip` are left out (work folders)."""
    if not root.is_dir():
        return
    for folder, folders, files in os.walk(root, followlinks=False):
        here = Path(folder)
        relative_folder = PurePosixPath(here.relative_to(root).as_posix())
        if relative_folder == PurePosixPath("."):
            folders[:] = [name for name in folders if name not in skip]
        folders.sort()
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path, (relative_folder / name if relative_folder != PurePosixPath(".") else PurePosixPath(name))


def has_files(root: Path, *, skip: frozenset[str] = frozenset()) -> bool:
    return next(tree_files(root, skip=skip), None) is not None


def checked_relative(text: str) -> PurePosixPath:
    """A manifest path, refused unless it is relative, inside one of SECTIONS (or the key file),
    and free of `..`: a manipulated manifest must not write outside the instance's folders."""
    path = PurePosixPath(text)
    if (
        not text
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in text
        or "\x00" in text
        or (path.parts[0] not in SECTIONS and text != KEYS_FILE)
        or (path.parts[0] in SECTIONS and len(path.parts) < 2)
    ):
        raise BackupError(_("The manifest names a path outside the backup's folders: %(path)r.") % {"path": text})
    return path


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes the manifest's HMAC covers: sorted keys, no spaces, without the HMAC itself."""
    body = {key: value for key, value in document.items() if key != "hmac_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_write(directory: Path, document: dict[str, Any]) -> Path:
    """Write the manifest last, atomically: a backup without one is incomplete and is refused."""
    path = directory / MANIFEST_FILE
    tmp = directory / f".{MANIFEST_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def manifest_read(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise BackupError(
            _("%(path)s is missing: this is not a ruralcast backup, or it was not completed.") % {"path": path}
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(_("%(path)s is damaged: %(error)s") % {"path": path, "error": error}) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupError(_("%(path)s is not the manifest of a ruralcast backup.") % {"path": path})
    if document.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("This backup has format version %(found)s; this ruralcast reads version %(known)s.")
            % {"found": document.get("format_version"), "known": FORMAT_VERSION}
        )
    if not isinstance(document.get("files"), list):
        raise BackupError(_("%(path)s lists no files.") % {"path": path})
    return document
