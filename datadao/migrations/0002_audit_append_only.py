"""Make the audit log append-only in the database itself (PostgreSQL).

A trigger refuses UPDATE and DELETE on datadao_auditevent, so neither a bug, the admin nor a
shell session can rewrite history. SQLite (the zero-setup default) relies on the services and
the read-only admin instead.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION datadao_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'datadao_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER datadao_auditevent_append_only
    BEFORE UPDATE OR DELETE ON datadao_auditevent
    FOR EACH ROW EXECUTE FUNCTION datadao_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS datadao_auditevent_append_only ON datadao_auditevent;
DROP FUNCTION IF EXISTS datadao_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("datadao", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
