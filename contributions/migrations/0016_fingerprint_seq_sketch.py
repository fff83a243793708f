# Fingerprints get a number within their dataset (``seq``) and texts a 1-bit sketch
# (computed when read where missing, so none is written here).

from django.db import migrations, models


def number_fingerprints(apps, schema_editor):
    """Number each dataset's fingerprints 1, 2, ... in id order (the order they committed)."""
    table = apps.get_model("contributions", "Fingerprint")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = numbered.n FROM (SELECT id, "
            f"row_number() OVER (PARTITION BY dataset_id ORDER BY id) AS n FROM {table}) "
            f"AS numbered WHERE {table}.id = numbered.id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contributions", "0015_validator_set_adoption"),
        ("datadao", "0015_role_reviewer"),
    ]

    operations = [
        migrations.AddField(
            model_name="fingerprint",
            name="sketch",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="fingerprint",
            name="seq",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.RunPython(number_fingerprints, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="fingerprint",
            name="seq",
            field=models.PositiveBigIntegerField(),
        ),
        migrations.RemoveIndex(
            model_name="fingerprint",
            name="fingerprint_by_dataset",
        ),
        migrations.AlterField(
            model_name="fingerprint",
            name="dataset",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="datadao.dataset",
            ),
        ),
        migrations.AddConstraint(
            model_name="fingerprint",
            constraint=models.UniqueConstraint(
                fields=("dataset", "seq"), name="fingerprint_seq_once"
            ),
        ),
    ]
