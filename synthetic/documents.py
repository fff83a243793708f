"""The report document pinned beside a published synthetic set: its report and provenance
with the CIDs of what they describe, as canonical JSON (what the dataset page and releases
link to)."""

from __future__ import annotations

from datetime import datetime

from contributions.releases import manifest_bytes
from synthetic.models import SyntheticJob

# The report document's format, so readers can tell versions apart.
REPORT_FORMAT = 1


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def report_document(job: SyntheticJob) -> bytes:
    """The published set's report and provenance, with the CIDs of what it describes, as
    canonical JSON: the same job always gives the same bytes, hence the same CID."""
    return manifest_bytes(
        {
            "datadao_synthetic_report": REPORT_FORMAT,
            "synthetic": True,
            "job": job.pk,
            "dataset": {
                "id": job.dataset_id,
                "dao": job.dataset.dao.slug,
                "slug": job.dataset.slug,
            },
            "method": job.published_method or job.method,
            "rows": job.output_rows,
            "files": {
                "rows": job.output_cid,
                "parquet": job.parquet_cid or None,
                "checkpoint": job.checkpoint_cid or None,
            },
            "created_at": when(job.created_at),
            "finished_at": when(job.finished_at),
            "report": job.report,
            "provenance": job.provenance,
        }
    )
