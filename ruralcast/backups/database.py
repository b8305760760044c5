"""The database half of a backup: a consistent snapshot out, and into an empty database back.

SQLite: the online backup API copies the live file page by page under one read transaction, so the
copy is consistent while the platform keeps writing; the copy is switched to a rollback journal so
it is one self-contained file. PostgreSQL: `pg_dump -Fc` (one snapshot, compressed, restorable table
by table) and `pg_restore --single-transaction --exit-on-error`, so a restore that fails leaves the
target database as empty as it was. The client programs come from Debian's `postgresql-client`, of
the server's major version or newer. Passwords go to them through the environment, never argv.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _

from ruralcast.backups.manifest import BackupError

SQLITE_FILE = "database/db.sqlite3"
POSTGRES_FILE = "database/ruralcast.pgdump"
_TIMEOUT_SECONDS = 6 * 3600


def vendor() -> str:
    return connection.vendor


def database_file() -> str:
    return SQLITE_FILE if vendor() == "sqlite" else POSTGRES_FILE


def server_version() -> str:
    if vendor() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def applied_migrations() -> list[str]:
    """`app.name` of every applied migration, sorted."""
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


def unknown_migrations(applied: list[str]) -> list[str]:
    """The backup's migrations this code does not have (the backup comes from a newer version)."""
    known = {f"{app}.{name}" for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations}
    return [name for name in applied if name not in known]


def table_names() -> list[str]:
    return list(connection.introspection.table_names())


def _sqlite_path() -> Path:
    name = connection.settings_dict["NAME"]
    if not name or str(name).startswith(":memory:") or str(name).startswith("file:"):
        raise BackupError(_("The SQLite database is not a file (%(name)s); nothing to back up.") % {"name": name})
    return Path(name)


def dump(target: Path) -> None:
    """Write the snapshot of the whole database to `target` (a new file). Refuses to run inside a
    transaction: the snapshot would hold the caller's uncommitted writes (and SQLite's backup would
    wait for the caller's own write lock forever)."""
    if connection.in_atomic_block:
        raise BackupError(_("A backup runs outside any transaction."))
    target.parent.mkdir(parents=True, exist_ok=True)
    if vendor() == "sqlite":
        _sqlite_dump(target)
    elif vendor() == "postgresql":
        _run(["pg_dump", "--format=custom", "--compress=6", f"--file={target}"], what="pg_dump")
        os.chmod(target, 0o600)
    else:
        raise BackupError(_("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": vendor()})


def _sqlite_dump(target: Path) -> None:
    connection.ensure_connection()
    source = connection.connection
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(_("The SQLite copy fails its integrity check: %(check)s") % {"check": check})
    finally:
        copy.close()


def load(source: Path) -> None:
    """Load a snapshot into the (empty, checked by the caller) database of this instance."""
    if vendor() == "sqlite":
        _sqlite_load(source)
    elif vendor() == "postgresql":
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             f"--dbname={connection.settings_dict['NAME']}", str(source)],
            what="pg_restore",
        )  # fmt: skip
    else:
        raise BackupError(_("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": vendor()})


def _sqlite_load(source: Path) -> None:
    target = _sqlite_path()
    connections.close_all()
    # The target holds no tables (checked): its journal files, if any, belong to an empty database.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.restore")
    tmp.unlink(missing_ok=True)
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _postgres_environment() -> dict[str, str]:
    settings_dict: dict[str, Any] = connection.settings_dict
    environment = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if settings_dict.get(key):
            environment[variable] = str(settings_dict[key])
    environment["PGDATABASE"] = str(settings_dict["NAME"])
    return environment


def _run(arguments: list[str], *, what: str) -> None:
    program = shutil.which(arguments[0])
    if program is None:
        raise BackupError(
            _(
                "%(program)s is not installed: install Debian's postgresql-client of the database server's "
                "major version (apt-get install postgresql-client)."
            )
            % {"program": arguments[0]}
        )
    try:
        result = subprocess.run(
            [program, *arguments[1:]],
            env=_postgres_environment(),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(_("%(program)s did not finish within 6 hours.") % {"program": what}) from None
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s failed (exit %(code)d): %(error)s")
            % {"program": what, "code": result.returncode, "error": result.stderr.strip()[-2000:]}
        )
