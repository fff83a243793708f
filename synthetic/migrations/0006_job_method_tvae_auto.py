from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("synthetic", "0005_job_constraints_rerun")]

    operations = [
        migrations.RemoveConstraint(model_name="syntheticjob", name="synthetic_job_method_valid"),
        migrations.AddConstraint(
            model_name="syntheticjob",
            constraint=models.CheckConstraint(
                condition=models.Q(method__in=["gan", "copula", "tvae", "auto", "augment"]),
                name="synthetic_job_method_valid",
            ),
        ),
    ]
