"""A closed epoch's Merkle tree in the database, and the proofs read from it.

The tree is stored once, as ``EpochTreeChunk`` rows of ``TREE_CHUNK_NODES`` consecutive
32-byte nodes (OpenZeppelin's array order), and each allocation keeps only its ``tree_index``.
A proof is derived on read: the positions of its nodes depend on the leaf position alone
(``rewards.merkle.proof_positions``), so serving one reads about 20 nodes of 32 bytes, cut out
of their rows by the database. Storing every proof instead would write about 1.4 KB of JSON
per allocation (1.4 GB for a million) to save that read; the tree is 64 bytes per allocation.

The allocation rows themselves go in by one ``COPY`` on PostgreSQL: a million model
instances through ``bulk_create`` cost more than the whole tree.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import BinaryField, Case, IntegerField, Q, Value, When
from django.db.models.functions import Substr

from rewards.merkle import proof_positions
from rewards.models import Allocation, Epoch, EpochTreeChunk

# 64 KiB a row: small enough that SQLite (which reads a whole value to cut a piece of it) or
# a row fetched whole stays cheap, large enough that a million-value tree is ~1,000 rows.
TREE_CHUNK_NODES = 2048
_NODE = 32
_CHUNK_BYTES = TREE_CHUNK_NODES * _NODE
# Allocation rows per COPY write: bounds the text held at once (~120 bytes a row).
_COPY_ROWS = 50_000


class ChunkStream(io.RawIOBase):
    """A readable, unseekable stream over an iterator of byte strings (a dump being written),
    so ``content_add`` pins it without the whole being held."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def tree_store_write(*, epoch: Epoch, nodes: bytes | bytearray) -> int:
    """Store ``nodes`` (a whole tree, ``StandardMerkleTree.nodes``) as ``epoch``'s chunks;
    returns how many rows were written. Call inside the transaction that closes the epoch."""
    view = memoryview(nodes)
    EpochTreeChunk.objects.bulk_create(
        (
            EpochTreeChunk(epoch=epoch, index=i, nodes=bytes(view[start : start + _CHUNK_BYTES]))
            for i, start in enumerate(range(0, len(view), _CHUNK_BYTES))
        ),
        batch_size=64,
    )
    return -(-len(view) // _CHUNK_BYTES)


def allocations_write(
    *, epoch: Epoch, values: Sequence[tuple[str, int]], tree_indices: Sequence[int]
) -> None:
    """Write one ``Allocation`` per value (checksummed address, amount) at its leaf position.

    On PostgreSQL one text ``COPY`` in pieces of ``_COPY_ROWS`` rows (addresses are hex and
    amounts decimal, so nothing needs escaping); elsewhere ``bulk_create``.
    """
    if connection.vendor != "postgresql":
        Allocation.objects.bulk_create(
            (
                Allocation(epoch=epoch, account=a, amount=v, tree_index=p)
                for (a, v), p in zip(values, tree_indices, strict=True)
            ),
            batch_size=5000,
        )
        return
    table = Allocation._meta.db_table
    prefix = f"{epoch.pk}\t"
    with connection.cursor() as cursor:
        raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
        sql = f"COPY {table} (epoch_id, account, amount, tree_index) FROM STDIN"
        with raw.copy(sql) as copy:
            for start in range(0, len(values), _COPY_ROWS):
                rows = zip(
                    values[start : start + _COPY_ROWS],
                    tree_indices[start : start + _COPY_ROWS],
                    strict=True,
                )
                copy.write("".join([f"{prefix}{a}\t{v}\t{p}\n" for (a, v), p in rows]).encode())


def allocation_proofs(allocations: Iterable[Allocation]) -> list[list[str]]:
    """The Merkle proof of each allocation (0x-hex nodes, leaf to root), in the given order,
    read from the stored trees in one query whatever the number of allocations and epochs.

    An allocation of an epoch with no stored tree gets an empty proof (a one-leaf tree's).
    """
    allocations = list(allocations)
    wanted = [proof_positions(a.tree_index) for a in allocations]
    # (epoch, chunk) -> the first and last node read from that row: one window per row.
    windows: dict[tuple[int, int], list[int]] = {}
    for allocation, positions in zip(allocations, wanted, strict=True):
        for position in positions:
            key = (allocation.epoch_id, position // TREE_CHUNK_NODES)
            offset = position % TREE_CHUNK_NODES
            window = windows.setdefault(key, [offset, offset])
            window[0], window[1] = min(window[0], offset), max(window[1], offset)
    if not windows:
        return [[] for _ in allocations]
    starts, lengths, rows = [], [], Q()
    for (epoch_id, index), (first, last) in windows.items():
        here = Q(epoch_id=epoch_id, index=index)
        rows |= here
        starts.append(When(here, then=Value(first * _NODE + 1)))
        lengths.append(When(here, then=Value((last - first + 1) * _NODE)))
    pieces = (
        EpochTreeChunk.objects.filter(rows)
        .annotate(
            piece=Substr(
                "nodes",
                Case(*starts, output_field=IntegerField()),
                Case(*lengths, output_field=IntegerField()),
                output_field=BinaryField(),
            )
        )
        .values_list("epoch_id", "index", "piece")
    )
    read: dict[tuple[int, int], bytes] = {(e, i): bytes(piece) for e, i, piece in pieces}
    nodes: dict[int, dict[int, str]] = defaultdict(dict)
    for (epoch_id, index), (first, _) in windows.items():
        piece = read.get((epoch_id, index))
        if piece is None:
            raise LookupError(f"epoch {epoch_id} has no stored tree chunk {index}")
        base = index * TREE_CHUNK_NODES + first
        for k in range(0, len(piece), _NODE):
            nodes[epoch_id][base + k // _NODE] = "0x" + piece[k : k + _NODE].hex()
    return [
        [nodes[a.epoch_id][p] for p in positions]
        for a, positions in zip(allocations, wanted, strict=True)
    ]


def allocation_proof(allocation: Allocation) -> list[str]:
    """``allocation_proofs`` of one allocation."""
    return allocation_proofs([allocation])[0]
