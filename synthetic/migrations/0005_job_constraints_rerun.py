import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("synthetic", "0004_privacy_ledger")]

    operations = [
        migrations.AddField(
            model_name="syntheticjob",
            name="constraints",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="syntheticjob",
            name="conditions",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="syntheticjob",
            name="infer_constraints",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="syntheticjob",
            name="validate_every",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="syntheticjob",
            name="rerun_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reruns",
                to="synthetic.syntheticjob",
            ),
        ),
    ]
