"""Check questions take slots like ordinary work: ``reserved`` counts their labels and live
holds, capped at ``wanted`` like any task, and their index covers the open ones only.

On existing rows: a check question's ``reserved`` is set from its holds (answered or live),
and one already held by ``wanted`` labelers or more (skipped holds included: it has been
seen) is retired (complete), as an ordinary item with that many labels would be."""

from django.db import migrations, models
from django.db.models import Count, Q


def gold_slots(apps, schema_editor):  # type: ignore[no-untyped-def]
    LabelTask = apps.get_model("labeling", "LabelTask")
    gold = LabelTask.objects.filter(is_gold=True).annotate(
        held=Count("assignments", filter=Q(assignments__status__in=["active", "submitted"])),
        seen=Count("assignments"),
    )
    for task in gold.iterator(chunk_size=2000):
        reserved = min(task.held, task.wanted)
        status = "complete" if task.seen >= task.wanted else task.status
        if (reserved, status) != (task.reserved, task.status):
            LabelTask.objects.filter(pk=task.pk).update(reserved=reserved, status=status)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0002_gold_first_answer_and_reports"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="labeltask",
            name="label_task_reserved_le_wanted",
        ),
        migrations.RemoveIndex(
            model_name="labeltask",
            name="label_task_gold",
        ),
        migrations.RunPython(gold_slots, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="labeltask",
            index=models.Index(
                condition=models.Q(("is_gold", True), ("status", "open")),
                fields=["dataset", "id"],
                name="label_task_gold_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="labeltask",
            constraint=models.CheckConstraint(
                condition=models.Q(("reserved__lte", models.F("wanted"))),
                name="label_task_reserved_le_wanted",
            ),
        ),
    ]
