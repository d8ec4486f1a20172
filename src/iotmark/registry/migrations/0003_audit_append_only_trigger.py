"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of audit entries (SQLite has no
equivalent here; there the model refuses and `audit verify` detects raw edits)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION registry_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'registry_auditentry is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_auditentry_no_change BEFORE UPDATE OR DELETE ON registry_auditentry
    FOR EACH ROW EXECUTE FUNCTION registry_auditentry_append_only();
CREATE TRIGGER registry_auditentry_no_truncate BEFORE TRUNCATE ON registry_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION registry_auditentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS registry_auditentry_no_truncate ON registry_auditentry;
DROP TRIGGER IF EXISTS registry_auditentry_no_change ON registry_auditentry;
DROP FUNCTION IF EXISTS registry_auditentry_append_only();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0002_audit_log"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
