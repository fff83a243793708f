"""What an accepted contribution claims as new, under the database's arbitration.

Scoring measures novelty against the dataset as it was read; two contributions recorded at
the same time may both have found the same rows, or near-identical files, new. These claims
settle it when a result is recorded: a tabular contribution inserts its rows' digests into
the row index, where the unique constraint gives each row to one contribution, and an image
or text is compared again, under the dataset's fingerprint lock, with what was recorded
since it was scored.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from django.db import connection

from contributions import scoring
from contributions.models import Contribution, Fingerprint, RowHash
from contributions.novelty import Novelty
from contributions.services import common
from contributions.validation.rowkey import ROW_DIGEST_BYTES
from datadao.dbcursor import binary_cursor
from datadao.schema import scoring_policy


def novelty_on_accept(contribution: Contribution) -> dict[str, Any]:
    """The fields of a tabular contribution the DAO accepts on review: it claims its rows
    now (``rows_claim``), so what it adds, signs and is paid for is what the dataset lacks
    at acceptance (the rows it claimed itself before, if it was accepted once, included)."""
    if "novelty" not in contribution.report:
        return {}
    digests = common.contribution_row_digests(contribution)
    rows_claim({contribution.pk: (contribution.dataset_id, digests)})
    new = RowHash.objects.filter(contribution_id=contribution.pk).count()
    before = Novelty.from_dict(contribution.report["novelty"])
    novelty = Novelty(rows=before.rows, distinct=before.distinct, new=min(new, before.distinct))
    return {
        "report": {**contribution.report, "novelty": novelty.to_dict()},
        "uniqueness": novelty.share_bps,
    }


def rows_claim(digests: dict[int, tuple[int, list[bytes]]]) -> dict[int, int]:
    """Insert the row digests of accepted contributions (contribution → dataset, digests new
    to it) into the row index; returns how many each inserted. A digest already there stays
    its first contributor's (``rowhash_unique``): a contribution recorded at the same time as
    another with the same rows claims only what the other did not. Inserted in digest order,
    so that two transactions claiming overlapping rows lock them in the same order."""
    rows = sorted(
        (digest, dataset_id, contribution_id)
        for contribution_id, (dataset_id, many) in digests.items()
        for digest in many
    )
    counts: dict[int, int] = dict.fromkeys(digests, 0)
    if connection.vendor != "postgresql":  # SQLite (development): one row at a time
        with connection.cursor() as cursor:
            for row in rows:
                cursor.execute(
                    "INSERT INTO contributions_rowhash (digest, dataset_id, contribution_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    list(row),
                )
                counts[row[2]] += cursor.rowcount
        return counts
    for start in range(0, len(rows), 20_000):
        chunk = rows[start : start + 20_000]
        # One bytea of fixed-size records (digest, dataset, contribution), sent in binary and
        # cut up by the server: an array parameter costs ~3 µs a value to write and as much
        # again to parse, which for a batch's thousands of rows was most of the statement.
        _check_sizes([r[0] for r in chunk])  # one wrong length would shift every later record
        packed = b"".join(d + _IDS.pack(dataset, owner) for d, dataset, owner in chunk)
        with binary_cursor() as cursor:
            cursor.execute(_CLAIM_ROWS, [packed, len(chunk)])
            for contribution_id, inserted in cursor.fetchall():
                counts[contribution_id] += inserted
    return counts


_IDS = struct.Struct(">qq")
_RECORD = ROW_DIGEST_BYTES + _IDS.size
_CLAIM_ROWS = f"""
WITH inserted AS (
    INSERT INTO contributions_rowhash (digest, dataset_id, contribution_id)
    SELECT substring(r FROM 1 FOR {ROW_DIGEST_BYTES}),
           ('x' || encode(substring(r FROM {ROW_DIGEST_BYTES + 1} FOR 8), 'hex'))::bit(64)::bigint,
           ('x' || encode(substring(r FROM {ROW_DIGEST_BYTES + 9} FOR 8), 'hex'))::bit(64)::bigint
    FROM (
        SELECT i, substring(%s::bytea FROM i * {_RECORD} + 1 FOR {_RECORD}) AS r
        FROM generate_series(0, %s - 1) AS i
    ) AS packed
    ORDER BY i
    ON CONFLICT DO NOTHING
    RETURNING contribution_id
)
SELECT contribution_id, count(*) FROM inserted GROUP BY contribution_id
"""  # noqa: S608 (only numbers of ours are formatted in)


# An array of row digests sent as one bytea of ``digests_packed`` followed by their count (see
# ``rows_claim`` for why not an array parameter).
DIGESTS_ARRAY_SQL = (
    f"ARRAY(SELECT substring(%s::bytea FROM i * {ROW_DIGEST_BYTES} + 1 "  # noqa: S608 (ours)
    f"FOR {ROW_DIGEST_BYTES}) FROM generate_series(0, %s - 1) AS i)"
)


def digests_packed(digests: list[bytes]) -> bytes:
    _check_sizes(digests)
    return b"".join(digests)


def _check_sizes(digests: list[bytes]) -> None:
    if any(len(d) != ROW_DIGEST_BYTES for d in digests):
        raise ValueError(f"row digests are {ROW_DIGEST_BYTES} bytes")


# The advisory lock class of a dataset's fingerprints (the dataset id is the other key).
_FINGERPRINT_LOCK = 0x6670


def fingerprints_lock(dataset_ids: list[int]) -> None:
    """Serialize, until commit, the recording of new fingerprints in these datasets: a
    recorder that compares then inserts sees every fingerprint committed before it."""
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time anyway
    with connection.cursor() as cursor:
        for dataset_id in sorted(set(dataset_ids)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_FINGERPRINT_LOCK, dataset_id])


def fingerprint_near(
    contribution: Contribution, fingerprint: dict[str, Any], *, after: int
) -> int | None:
    """The accepted contribution whose fingerprint, numbered after ``after`` (``seq``)
    (scoring compared the ones before), is a near-duplicate of ``fingerprint``; else None."""
    policy = scoring_policy(contribution.dataset.scoring)
    field = "phash" if fingerprint.get("phash") is not None else "minhash"
    rows = list(
        Fingerprint.objects.filter(
            dataset_id=contribution.dataset_id, seq__gt=after, **{f"{field}__isnull": False}
        )
        .exclude(contribution_id=contribution.pk)
        .values_list("contribution_id", field)
    )
    if not rows:
        return None
    if field == "phash":
        others = np.array([value for _, value in rows], dtype=np.int64)
        index, distance = scoring.nearest_hamming(fingerprint["phash"], others)
        return rows[index][0] if distance <= policy["image_hamming"] else None
    index, similarity = scoring.nearest_jaccard(
        bytes(fingerprint["minhash"]), [bytes(value) for _, value in rows]
    )
    return rows[index][0] if similarity >= policy["text_jaccard"] else None
