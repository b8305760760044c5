"""Database triggers that refuse UPDATE and DELETE on audit events (SQLite and PostgreSQL).

The triggers stand aside only while the unmanaged table `audit_maintenance` holds a row: the
documented door for archiving old events after exporting them, and what the test suite uses to
empty the table between transactional tests. Anyone able to write that table (or to drop a
trigger) can change rows, which is why the hash chain, not the triggers, is the proof: see
docs/architecture.md, "Audit trail".
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE TABLE audit_maintenance (reason TEXT NOT NULL);",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
    "DROP TABLE IF EXISTS audit_maintenance;",
]
POSTGRES_FORWARD = [
    "CREATE TABLE audit_maintenance (reason TEXT NOT NULL);",
    """CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM audit_maintenance) THEN
           RETURN COALESCE(OLD, NEW);
         END IF;
         RAISE EXCEPTION 'audit events are append-only';
       END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change();",
    "DROP TABLE IF EXISTS audit_maintenance;",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
