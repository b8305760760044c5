"""Overlapping writers on the embedded SQLite database wait for each other instead of failing (item 23).

Two connections built with the platform's own SQLite options (config.django.base.SQLITE_OPTIONS)
each read and then write in one transaction, interleaved the way two requests (or a request and the
ingest worker) interleave. With SQLite's default deferred transactions the second writer gets
"database is locked" at once; with IMMEDIATE it waits its turn.
"""

import threading
from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler

from config.django.base import SQLITE_OPTIONS


def connections_on(path: Path, options: dict[str, object]) -> ConnectionHandler:
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}
    return ConnectionHandler({"default": dict(database), "second": dict(database)})


def overlapping_read_then_write(handler: ConnectionHandler) -> list[BaseException]:
    with handler["default"].cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS counter (n INTEGER)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    both_read = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def writer(alias: str, start_after: float, hold: float) -> None:
        connection = handler[alias]
        try:
            threading.Event().wait(start_after)
            connection.ensure_connection()
            # What transaction.atomic() runs on SQLite: BEGIN, or BEGIN <transaction_mode>.
            connection._start_transaction_under_autocommit()  # type: ignore[attr-defined]
            with connection.cursor() as cursor:
                cursor.execute("SELECT max(n) FROM counter")
                (current,) = cursor.fetchone()
                if connection.settings_dict["OPTIONS"].get("transaction_mode") != "IMMEDIATE":
                    both_read.wait()  # deferred: both hold a read snapshot before either writes
                threading.Event().wait(hold)  # the first writer keeps its transaction open a while
                cursor.execute("INSERT INTO counter VALUES (%s)", [current + 1])
            connection.commit()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=writer, args=("default", 0.0, 0.3)),
        threading.Thread(target=writer, args=("second", 0.1, 0.0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker) -> object:
    with django_db_blocker.unblock():
        yield


def test_sqlite_default_deferred_transactions_fail_with_database_is_locked(tmp_path: Path) -> None:
    """The failure the fuzz found, reproduced: the reason for the setting below."""
    deferred = {key: value for key, value in SQLITE_OPTIONS.items() if key != "transaction_mode"}
    errors = overlapping_read_then_write(connections_on(tmp_path / "deferred.sqlite3", deferred))
    assert [str(error) for error in errors] == ["database is locked"]


def test_the_platforms_sqlite_options_make_overlapping_writers_wait_not_fail(tmp_path: Path) -> None:
    handler = connections_on(tmp_path / "immediate.sqlite3", dict(SQLITE_OPTIONS))
    assert overlapping_read_then_write(handler) == []
    with handler["default"].cursor() as cursor:
        cursor.execute("SELECT n FROM counter ORDER BY n")
        assert [row[0] for row in cursor.fetchall()] == [0, 1, 2]  # the second read after the first wrote
    handler["default"].close()
