"""Migration 0009 turns a closed epoch's stored dump into tree rows and each allocation's value
index into its leaf position, so proofs read from the rows are the dump's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rewards.merkle import StandardMerkleTree, verify
from rewards.models import Allocation
from rewards.tree_store import allocation_proofs
from tests.factories import DAOFactory
from tests.rewards.test_tree_store import _values

BEFORE = [("rewards", "0009_verbose_names")]
AFTER = [("rewards", "0010_epoch_tree_chunks")]


@pytest.mark.django_db(transaction=True)
def test_stored_dumps_become_tree_rows_and_proofs_stay_the_same() -> None:
    dao = DAOFactory()
    values = _values(2500, 9)
    tree = StandardMerkleTree.of(values)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        epoch = old.get_model("rewards", "Epoch").objects.create(
            dao_id=dao.pk, number=1, status="closed", root=tree.root, dump=tree.dump()
        )
        old.get_model("rewards", "Allocation").objects.bulk_create(
            old.get_model("rewards", "Allocation")(
                epoch_id=epoch.pk, account=a, amount=v, tree_index=i, proof=tree.proof(i)
            )
            for i, (a, v) in enumerate(values)
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
    allocations = list(Allocation.objects.filter(epoch_id=epoch.pk).order_by("account"))
    assert [a.tree_index for a in allocations] == tree.tree_indices
    assert allocation_proofs(allocations) == tree.proofs()
    a = allocations[-1]
    assert verify(tree.root, a.account, int(a.amount), allocation_proofs([a])[0])
