"""Closed epochs keep their Merkle tree as EpochTreeChunk rows instead of a JSON dump, and
allocations their leaf position instead of a stored proof.

Each closed epoch's dump becomes its chunks, and each allocation's ``tree_index`` (until now
its value's index in the dump's ``values``) becomes that value's ``treeIndex``, the position
of its leaf in the tree, from which its proof is read.
"""

from django.db import migrations, models
import django.db.models.deletion

# rewards.tree_store.TREE_CHUNK_NODES at the time of this migration.
CHUNK_NODES = 2048


def dumps_to_chunks(apps, schema_editor):
    Epoch = apps.get_model("rewards", "Epoch")
    Allocation = apps.get_model("rewards", "Allocation")
    EpochTreeChunk = apps.get_model("rewards", "EpochTreeChunk")
    for epoch in Epoch.objects.filter(dump__isnull=False).iterator(chunk_size=1):
        nodes = b"".join(bytes.fromhex(node[2:]) for node in epoch.dump["tree"])
        step = 32 * CHUNK_NODES
        EpochTreeChunk.objects.bulk_create(
            EpochTreeChunk(epoch_id=epoch.pk, index=i, nodes=nodes[start : start + step])
            for i, start in enumerate(range(0, len(nodes), step))
        )
        positions = [entry["treeIndex"] for entry in epoch.dump["values"]]
        allocations = list(Allocation.objects.filter(epoch_id=epoch.pk))
        for allocation in allocations:
            allocation.tree_index = positions[allocation.tree_index]
        Allocation.objects.bulk_update(allocations, ["tree_index"], batch_size=5000)


class Migration(migrations.Migration):

    dependencies = [
        ("rewards", "0009_verbose_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="EpochTreeChunk",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("index", models.PositiveIntegerField(verbose_name="index")),
                ("nodes", models.BinaryField(verbose_name="nodes")),
                (
                    "epoch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tree_chunks",
                        to="rewards.epoch",
                        verbose_name="epoch",
                    ),
                ),
            ],
            options={
                "verbose_name": "epoch tree chunk",
                "verbose_name_plural": "epoch tree chunks",
                "constraints": [
                    models.UniqueConstraint(fields=("epoch", "index"), name="epoch_tree_chunk_once")
                ],
            },
        ),
        migrations.RunPython(dumps_to_chunks, migrations.RunPython.noop),
        migrations.RemoveField(model_name="allocation", name="proof"),
        migrations.RemoveField(model_name="epoch", name="dump"),
    ]
