"""The maintenance door of the append-only audit table (see migrations/0002).

`audit_maintenance_window` lets UPDATE/DELETE through the triggers for the duration of a block:
for archiving events that have been exported and verified, and for test teardown. Everything
that passes through it should itself be recorded (archive runs record an event afterwards).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def audit_maintenance_window(*, reason: str) -> Iterator[None]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO audit_maintenance (reason) VALUES (%s)", [reason])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_maintenance")
