"""Stored epoch trees: proofs read from the stored nodes are the in-memory tree's, verify
against its root, and cost one query however many allocations and epochs; the streamed dump is
byte for byte the JSON of ``dump()``."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rewards import epoch_inputs
from rewards.ethtypes import checksum_address
from rewards.merkle import StandardMerkleTree, proof_positions, verify
from rewards.models import Allocation, EpochTreeChunk
from rewards.tree_store import (
    TREE_CHUNK_NODES,
    ChunkStream,
    allocation_proof,
    allocation_proofs,
    allocations_write,
    tree_store_write,
)
from tests.factories import DAOFactory
from tests.sdk.test_lists import _epoch


def _values(n: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(f"tree-store-{seed}-{n}")
    values = {
        checksum_address("0x" + rng.randbytes(20).hex()): rng.randrange(1, 10**24) for _ in range(n)
    }
    return sorted(values.items())  # as the epoch close orders them


def _stored(dao, number: int, values: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    tree = StandardMerkleTree.of(values)
    epoch = _epoch(dao, number)
    epoch.root = tree.root
    epoch.save(update_fields=["root"])
    tree_store_write(epoch=epoch, nodes=tree.nodes)
    allocations_write(epoch=epoch, values=values, tree_indices=tree.tree_indices)
    return epoch, tree


@pytest.mark.parametrize("n", [1, 2, 3, 7, 2048, 5000])
def test_proofs_from_positions_are_the_trees_proofs(n: int) -> None:
    tree = StandardMerkleTree.of(_values(n, 1))
    nodes = tree.nodes
    assert len(nodes) == 32 * (2 * n - 1) and "0x" + nodes[:32].hex() == tree.root
    for index, position in enumerate(tree.tree_indices):
        from_nodes = ["0x" + nodes[32 * p : 32 * p + 32].hex() for p in proof_positions(position)]
        assert from_nodes == tree.proof(index)


@pytest.mark.parametrize("n", [1, 5, 16_385])
def test_the_streamed_dump_is_the_json_of_dump(n: int) -> None:
    """Pieces of 16,384 nodes and values: 16,385 values cross a piece boundary in both lists."""
    tree = StandardMerkleTree.of(_values(n, 2))
    pinned = json.dumps(tree.dump(), sort_keys=True, separators=(",", ":")).encode()
    assert b"".join(tree.iter_dump_json(sort_keys=True)) == pinned
    assert tree.dump_json() == json.dumps(tree.dump(), separators=(",", ":"))
    # Read through the stream content_add is given, in odd sizes: the same bytes.
    stream = ChunkStream(tree.iter_dump_json(sort_keys=True))
    read = b"".join(iter(lambda: stream.read(7919), b""))
    assert hashlib.sha256(read).digest() == hashlib.sha256(pinned).digest()


@pytest.mark.django_db
def test_stored_proofs_equal_the_in_memory_ones_and_verify() -> None:
    dao = DAOFactory()
    values = _values(3000, 3)
    epoch, tree = _stored(dao, 1, values)
    assert EpochTreeChunk.objects.filter(epoch=epoch).count() == -(
        -(2 * len(values) - 1) // TREE_CHUNK_NODES
    )
    allocations = list(Allocation.objects.filter(epoch=epoch).order_by("account"))
    assert [(a.account, int(a.amount)) for a in allocations] == values
    with CaptureQueriesContext(connection) as queries:
        proofs = allocation_proofs(allocations)
    assert len(queries) == 1
    assert proofs == tree.proofs()
    for allocation, proof in zip(allocations, proofs, strict=True):
        assert verify(epoch.root, allocation.account, int(allocation.amount), proof)


@pytest.mark.django_db
def test_any_single_allocation_is_served_a_proof_that_verifies() -> None:
    dao = DAOFactory()
    epochs = [_stored(dao, number, _values(size, number)) for number, size in ((1, 1), (2, 4097))]
    rng = random.Random(7)
    picked = list(Allocation.objects.filter(epoch=epochs[1][0]).order_by("?")[:25])
    picked += list(Allocation.objects.filter(epoch=epochs[0][0]))  # a one-leaf tree: no proof
    rng.shuffle(picked)
    for allocation in picked:
        epoch = allocation.epoch
        proof = allocation_proof(allocation)
        assert verify(epoch.root, allocation.account, int(allocation.amount), proof)
        assert (proof == []) == (epoch.pk == epochs[0][0].pk)
    # Both epochs' allocations in one call: still one query, each proof its own tree's.
    with CaptureQueriesContext(connection) as queries:
        proofs = allocation_proofs(picked)
    assert len(queries) == 1
    assert proofs == [allocation_proof(a) for a in picked]


@pytest.mark.django_db
def test_a_proof_of_an_epoch_without_its_tree_is_an_error_not_an_empty_proof() -> None:
    epoch = _epoch(DAOFactory(), 1)
    allocation = Allocation.objects.create(epoch=epoch, account="0x" + "11" * 20, amount=1,
                                           tree_index=5)  # fmt: skip
    with pytest.raises(LookupError, match="no stored tree chunk 0"):
        allocation_proof(allocation)


@pytest.mark.parametrize(
    ("budget", "clawbacks"),
    [(None, []), (10**20, [("disputes.challenge:3", _values(25_000, 4)[0][0], 5)])],
)
def test_the_streamed_inputs_are_the_documents_bytes(budget, clawbacks) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    credits = [
        (addr, rng.randrange(10**21), rng.choice(["contribution", "label", 'q"\\é']),
         f"{rng.choice(['contributions.contribution', 'labeling.label'])}:{rng.randrange(50)}")
        for addr, _ in _values(25_000, 4)
    ]  # fmt: skip
    credits += credits[:3]  # equal sort keys
    kwargs = {
        "dao_id": "0x" + "da" * 32,
        "chain_id": 31337,
        "epoch": 4,
        "verifying_contract": "0x" + "12" * 20,
        "budget": budget,
        "clawbacks": clawbacks,
    }
    whole = epoch_inputs.inputs_bytes(epoch_inputs.inputs_document(credits=credits, **kwargs))
    assert b"".join(epoch_inputs.iter_inputs_bytes(credits=list(credits), **kwargs)) == whole
    assert epoch_inputs.settle(json.loads(whole)).values  # and it replays


def test_a_checksummed_tree_is_the_checked_one_and_still_refuses_what_is_not_hex() -> None:
    values = _values(300, 5)
    assert StandardMerkleTree.of(values, checksummed=True).dump() == (
        StandardMerkleTree.of(values).dump()
    )
    for bad in ("0x" + "zz" * 20, "0x" + " 1" * 20, "0x" + "1" * 39, 42):
        with pytest.raises(ValueError, match=r"values\[1\]"):
            StandardMerkleTree.of([values[0], (bad, 1)], checksummed=True)
