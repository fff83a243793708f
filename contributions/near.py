"""The near-duplicate search of scoring: a new image's or text's nearest accepted neighbour
among every fingerprint of its dataset.

Each worker process keeps a resident index per dataset and field (``nearindex``), grown by
one statement per search from the fingerprints numbered after the newest it holds
(``Fingerprint.seq``). That is complete because a dataset's fingerprints are numbered and
inserted under its fingerprint lock (``services.claims.fingerprints_lock``), so they commit
in number order: a search never sees number n + 1 before n. The same statement reads the
dataset's newest number, which is the horizon scoring reports (the recorder compares what
came after it) and which shows a database whose numbers went back (restored, emptied): the
index is then read again whole.

Fingerprints are deleted only with their contribution (an admin's delete). A near-duplicate
verdict is checked against the database before it is given, and a text's candidates are
read from it, so a deleted fingerprint never decides; it can, until the index is next read
whole, lower the uniqueness score of an image near it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from contributions import scoring
from contributions.models import Fingerprint
from contributions.nearindex import HammingIndex, SketchIndex, minhash_sketch

# field -> (index class, the column the index holds)
_KINDS: dict[str, tuple[type, str]] = {
    "phash": (HammingIndex, "phash"),
    "minhash": (SketchIndex, "sketch"),
}
_lock = threading.Lock()
_indexes: OrderedDict[tuple[int, str], Any] = OrderedDict()


@dataclass(frozen=True)
class Nearest:
    """The nearest accepted fingerprint's contribution (None when the dataset has none), how
    near (``distance`` in bits for images, ``similarity`` for texts), and the newest
    fingerprint number (``Fingerprint.seq``) the search covered."""

    contribution_id: int | None
    horizon: int
    distance: int = 64
    similarity: float = 0.0


def image_nearest(
    dataset_id: int, phash: int, *, exclude: int, threshold: int, refresh: bool = True
) -> Nearest:
    """The nearest image by Hamming distance of perceptual hashes, ``exclude``'s own left
    out; exact (every fingerprint of the dataset is compared)."""
    for attempt in range(2):
        index, horizon = _index(dataset_id, "phash", refresh=refresh or attempt > 0)
        found = index.nearest(phash, exclude=exclude)
        if not found:
            return Nearest(None, horizon)
        owner, distance = found[0]
        if distance > threshold or _recorded([owner]) == {owner}:
            return Nearest(owner, horizon, distance=distance)
        _forget(dataset_id, "phash")  # its contribution was deleted: read the index again
    return Nearest(None, horizon)


def text_nearest(
    dataset_id: int, signature: bytes, *, exclude: int, threshold: float, refresh: bool = True
) -> Nearest:
    """The most similar text by estimated Jaccard similarity of MinHash signatures, among the
    sketch index's candidates compared on their full signatures."""
    sketch = minhash_sketch(signature)
    for attempt in range(2):
        index, horizon = _index(dataset_id, "minhash", refresh=refresh or attempt > 0)
        owners = index.candidates(sketch, threshold=threshold, exclude=exclude)
        if not owners:
            return Nearest(None, horizon)
        signatures = _signatures(owners)
        if len(signatures) < len(owners) and attempt == 0:
            _forget(dataset_id, "minhash")
            continue
        # Newest first, so a tie goes to the newest, as the sketch ranking does.
        ordered = sorted(signatures, reverse=True)
        best, similarity = scoring.nearest_jaccard(signature, [signatures[c] for c in ordered])
        if best < 0:
            return Nearest(None, horizon)
        return Nearest(ordered[best], horizon, similarity=similarity)
    return Nearest(None, horizon)


def _signatures(contribution_ids: list[int]) -> dict[int, bytes]:
    """The full MinHash signatures of these contributions' fingerprints, by contribution (one
    statement over the contribution index; a deleted one is absent)."""
    marks = ", ".join(["%s"] * len(contribution_ids))  # SQLite has no ANY(array)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT contribution_id, minhash FROM {Fingerprint._meta.db_table} "  # noqa: S608
            f"WHERE contribution_id IN ({marks}) AND minhash IS NOT NULL",
            contribution_ids,
        )
        return {int(owner): bytes(signature) for owner, signature in cursor.fetchall()}


def _recorded(contribution_ids: list[int]) -> set[int]:
    return set(
        Fingerprint.objects.filter(contribution_id__in=contribution_ids).values_list(
            "contribution_id", flat=True
        )
    )


def _index(dataset_id: int, field: str, *, refresh: bool) -> tuple[Any, int]:
    """The dataset's resident index for ``field``, grown to what the database holds when
    ``refresh``; and the newest fingerprint number of the dataset the index covers."""
    kind, column = _KINDS[field]
    key = (dataset_id, field)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = kind()
            refresh = True
        _indexes.move_to_end(key)
        if refresh:
            newest = _grow(index, dataset_id, column)
            if newest < index.last_id:  # the numbers went back: read it whole
                index = _indexes[key] = kind()
                newest = _grow(index, dataset_id, column)
            index.horizon = newest
        _bound()
        return index, index.horizon


def _grow(index: Any, dataset_id: int, column: str) -> int:
    """Append the fingerprints numbered after the index's newest; the dataset's newest number
    (0: none). Both parts are ranges of the (dataset, seq) unique index."""
    table = Fingerprint._meta.db_table
    # A text recorded without its sketch is sketched here from its signature.
    value = "phash" if column == "phash" else "sketch, CASE WHEN sketch IS NULL THEN minhash END"
    present = "phash IS NOT NULL" if column == "phash" else "minhash IS NOT NULL"
    nulls = "NULL, NULL" if column == "phash" else "NULL, NULL, NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, contribution_id, {value} FROM {table} "  # noqa: S608 (names are ours)
            f"WHERE dataset_id = %s AND seq > %s AND {present} "
            f"UNION ALL SELECT MAX(seq), {nulls} FROM {table} WHERE dataset_id = %s",
            [dataset_id, index.last_id, dataset_id],
        )
        rows = cursor.fetchall()
    newest = 0
    fresh = []
    for row in rows:
        if row[1] is None:
            newest = int(row[0] or 0)
        elif column == "phash":
            fresh.append((int(row[0]), int(row[1]), int(row[2])))
        else:
            sketch = bytes(row[2]) if row[2] is not None else minhash_sketch(bytes(row[3]))
            fresh.append((int(row[0]), int(row[1]), sketch))
    fresh.sort(key=lambda r: r[0])
    index.add(fresh)
    return newest


def _forget(dataset_id: int, field: str) -> None:
    with _lock:
        _indexes.pop((dataset_id, field), None)


def _bound() -> None:
    """Drop the least recently used indexes while all of them hold more than the setting
    (the one in use is never dropped)."""
    limit = settings.NEAR_INDEX_MAX_ENTRIES
    while len(_indexes) > 1 and sum(len(i) for i in _indexes.values()) > limit:
        _indexes.popitem(last=False)


def forget_all() -> None:
    """Drop every resident index (tests that empty the database between cases)."""
    with _lock:
        _indexes.clear()
