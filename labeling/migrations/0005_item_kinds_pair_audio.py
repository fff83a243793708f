# Items of two more kinds: a pair of candidates (pairwise) and an audio clip (text).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0004_link_imported_items"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="labeltask",
            name="label_task_kind_valid",
        ),
        migrations.AlterField(
            model_name="labeltask",
            name="kind",
            field=models.CharField(
                choices=[
                    ("image", "Image"),
                    ("text", "Text"),
                    ("row", "Row"),
                    ("pair", "Pair"),
                    ("audio", "Audio"),
                ],
                max_length=8,
            ),
        ),
        migrations.AddConstraint(
            model_name="labeltask",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["image", "text", "row", "pair", "audio"])),
                name="label_task_kind_valid",
            ),
        ),
    ]
