"""The real rows a job learns from: a CSV given for the job, or the dataset's pinned
tabular contributions (read with the export code, so exactly what a release would hold)."""

from __future__ import annotations

import csv
import io
from itertools import islice

from contributions.export import ExportStats, cell_text, iter_rows
from contributions.models import ACTIVE_STATUSES, Contribution, Status
from contributions.selectors import tabular_source
from datadao import blobs
from synthetic.infer import InputError
from synthetic.models import JobStatus, SyntheticJob

# Enough for any table a GAN should learn on one worker; bigger tables are sampled down.
MAX_INPUT_ROWS = 200_000


def job_rows(job: SyntheticJob) -> list[dict[str, str | None]]:
    if job.input_name:
        from synthetic.files import input_key

        try:
            raw = blobs.store().open(input_key(job.input_name))
        except (blobs.BlobMissing, ValueError) as exc:
            raise InputError(f"the job's input CSV cannot be read: {exc}") from None
        with raw, io.TextIOWrapper(raw, newline="", encoding="utf-8") as f:
            return [dict(row) for row in islice(csv.DictReader(f), MAX_INPUT_ROWS)]
    columns = job.dataset.schema.get("columns", [])
    names = [c["name"] for c in columns]
    rows: list[dict[str, str | None]] = []
    stats = ExportStats()
    pinned = Contribution.objects.filter(
        dataset=job.dataset, status=Status.PINNED, withdrawn_at=None
    ).order_by("pk")
    for contribution in pinned.iterator(chunk_size=500):
        source = tabular_source(contribution, dao_id=job.dataset.dao.onchain_id, contributor="")
        for values in iter_rows(source, columns, stats):
            rows.append(
                {
                    n: None if v is None else cell_text(v)
                    for n, v in zip(names, values, strict=False)
                }
            )
            if len(rows) >= MAX_INPUT_ROWS:
                return rows
    return rows


def uploads_awaited(job_id: int) -> int:
    """How many of the dataset's uploads a queued job should wait for: those still in the
    pipeline, when none of its rows is pinned yet (a dataset just seeded, as the demo's is).
    0 when the job can start: it has rows, a CSV of its own, or nothing is on the way."""
    job = SyntheticJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None or job.input_name or job.method == "augment":
        return 0
    contributions = Contribution.objects.filter(dataset_id=job.dataset_id)
    if contributions.filter(status=Status.PINNED).exists():
        return 0
    return contributions.filter(status__in=ACTIVE_STATUSES).count()
