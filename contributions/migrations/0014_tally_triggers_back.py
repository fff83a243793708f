from django.db import migrations

from contributions import tally


def triggers_back(apps, schema_editor):
    # 0012 (validator sets) rebuilt the contributions table on SQLite, dropping its triggers.
    tally.sqlite_triggers_back(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("contributions", "0013_release_proofs_cid"),
    ]

    operations = [
        migrations.RunPython(triggers_back, migrations.RunPython.noop),
    ]
