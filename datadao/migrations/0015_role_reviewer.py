"""The role "validator" becomes "reviewer": it reviews settled labeling items, and "validator"
names the machines that attest contributions. Existing memberships keep their rank."""

from django.db import migrations, models


def _rename(apps, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    apps.get_model("datadao", "Membership").objects.filter(role=old).update(role=new)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rename(apps, "validator", "reviewer")


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rename(apps, "reviewer", "validator")


class Migration(migrations.Migration):
    dependencies = [
        ("datadao", "0014_dao_challenges"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="membership", name="membership_role_valid"),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("creator", "Creator"),
                    ("admin", "Admin"),
                    ("reviewer", "Reviewer"),
                    ("contributor", "Contributor"),
                ],
                default="contributor",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(("role__in", ["creator", "admin", "reviewer", "contributor"])),
                name="membership_role_valid",
            ),
        ),
    ]
