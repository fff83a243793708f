"""Link the items a pinned labeling upload was imported into to that upload's contribution, for
items imported before tasks recorded it: consent withdrawal finds them by that link. An item
whose source key came from the file (not ``import:<id>:<line>``) cannot be traced to its
import, and stays unlinked."""

from django.db import migrations


def link(apps, schema_editor):
    LabelImport = apps.get_model("labeling", "LabelImport")
    LabelTask = apps.get_model("labeling", "LabelTask")
    for job in LabelImport.objects.exclude(contribution=None).only("pk", "contribution_id"):
        LabelTask.objects.filter(
            contribution=None, source_key__startswith=f"import:{job.pk}:"
        ).update(contribution_id=job.contribution_id)


class Migration(migrations.Migration):
    dependencies = [("labeling", "0003_gold_exposure")]

    operations = [migrations.RunPython(link, migrations.RunPython.noop)]
