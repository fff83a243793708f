"""Rebuilding a tabular dataset's row index (``RowHash``) from the stored files.

The index holds one digest per row the dataset has accepted (``validation.rowkey``); scoring
reads it to tell new rows from known ones. When the row key changes (how a row is made
canonical before it is hashed), digests written under the old key no longer match re-spelled
copies of those rows, which would then count as new and be paid. ``row_index_rebuild``
recomputes every accepted row's digest with the current key, from each contribution's file,
and keeps each row credited to the earliest contribution that holds it, as scoring does.

Past credits are not touched: a rebuild changes only what later contributions are compared
with. A contribution whose file is gone, or that the current schema refuses, keeps the
digests it has.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from contributions.models import Contribution, RowHash
from contributions.services.common import contribution_plaintext, read_row_digests
from contributions.validation.by_kind import validate_file
from datadao.blobs import BlobMissing
from datadao.models import Dataset, DatasetKind

INSERT_BATCH = 5000


@dataclass
class RowIndexRebuild:
    dataset_id: int
    contributions: int = 0  # contributions whose rows were re-read
    rows_before: int = 0
    rows_after: int = 0
    kept: list[int] = field(default_factory=list)  # file gone or refused: digests kept


def _digests(contribution: Contribution, dataset: Dataset) -> list[bytes] | None:
    """The row digests of the contribution's file under the current key, or None when the
    file is gone or the current schema refuses it."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            with contribution_plaintext(contribution) as path:
                sidecar = Path(folder) / "rows"
                result = validate_file(
                    path, kind=DatasetKind.TABULAR, schema=dataset.schema, row_digest_path=sidecar
                )
        except BlobMissing:
            return None
        if not result.accepted:
            return None
        return read_row_digests(sidecar)


def row_index_rebuild(*, dataset_id: int) -> RowIndexRebuild:
    """Recompute the row index of a tabular dataset. Raises ``Dataset.DoesNotExist`` for an
    unknown or non-tabular dataset. Files are read before the index is locked; the swap is
    one transaction."""
    dataset = Dataset.objects.get(pk=dataset_id, kind=DatasetKind.TABULAR)
    result = RowIndexRebuild(dataset_id=dataset_id)
    owners = list(
        Contribution.objects.filter(
            pk__in=RowHash.objects.filter(dataset_id=dataset_id).values("contribution_id")
        ).order_by("pk")
    )
    fresh: dict[int, list[bytes]] = {}
    for contribution in owners:
        digests = _digests(contribution, dataset)
        if digests is None:
            result.kept.append(contribution.pk)
        else:
            fresh[contribution.pk] = digests
    result.contributions = len(fresh)
    with transaction.atomic():
        # The dataset row, locked: two rebuilds of one dataset run one after the other.
        Dataset.objects.select_for_update().filter(pk=dataset_id).first()
        index = RowHash.objects.filter(dataset_id=dataset_id)
        result.rows_before = index.count()
        index.filter(contribution_id__in=list(fresh)).delete()
        # Rows of kept contributions stay where they are and are not credited again.
        seen = {bytes(d) for d in index.values_list("digest", flat=True).iterator()}
        batch: list[RowHash] = []
        for pk in sorted(fresh):
            for digest in fresh[pk]:
                if digest in seen:
                    continue
                seen.add(digest)
                batch.append(RowHash(dataset_id=dataset_id, digest=digest, contribution_id=pk))
                if len(batch) >= INSERT_BATCH:
                    RowHash.objects.bulk_create(batch)
                    batch = []
        RowHash.objects.bulk_create(batch)
        result.rows_after = index.count()
    return result
