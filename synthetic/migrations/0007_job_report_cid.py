from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("synthetic", "0006_job_method_tvae_auto")]

    operations = [
        migrations.AddField(
            model_name="syntheticjob",
            name="report_cid",
            field=models.CharField(blank=True, max_length=128),
        ),
    ]
