"""A synthetic job's files: where they are stored (inputs given for a job, the CSV it
wrote), the published rows' bytes (CSV and Parquet, every row flagged synthetic with its job
id), and their pins with the model checkpoint."""

from __future__ import annotations

import csv
import io
from typing import Any

from contributions.sealed import must_seal
from contributions.services.sealed_pins import content_add_for
from datadao import blobs
from synthetic.models import SyntheticJob
from synthetic.spelling import Spellings, cell_text


def input_key(name: str) -> str:
    """A CSV given for a job (``SyntheticJob.input_name``) in the shared store
    (``datadao.blobs``), where the operator puts it."""
    return f"synthetic/inputs/{name}"


def output_key(job_id: int) -> str:
    """The CSV a job over a public dataset wrote, in the shared store."""
    return f"synthetic/job-{job_id}.csv"


def rows_csv(
    rows: list[dict[str, Any]],
    columns: list[str],
    job_id: int,
    spellings: Spellings | None = None,
) -> bytes:
    """The published CSV: every row flagged synthetic and carrying its job id; bool columns
    spelled as the input spelled them (``spellings``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*columns, "synthetic", "synthetic_job"])
    for row in rows:
        cells = ["" if row.get(c) is None else cell_text(row[c], c, spellings) for c in columns]
        writer.writerow([*cells, "true", job_id])
    return out.getvalue().encode("utf-8")


def rows_parquet(rows: list[dict[str, Any]], columns: list[str], job_id: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [
            {**{c: row.get(c) for c in columns}, "synthetic": True, "synthetic_job": job_id}
            for row in rows
        ]
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def pin_outputs(job: SyntheticJob, result: Any, columns: list[str]) -> tuple[str, str, str]:
    label = f"synthetic:{job.pk}"
    data = rows_csv(result.rows, columns, job.pk, result.report.get("spellings"))
    if not must_seal(job.dataset):
        # A local copy of a public set; a members-only dataset's rows exist only sealed.
        blobs.store().save_bytes(output_key(job.pk), data)
    # Sealed for a members-only dataset: its synthetic rows and model are its data's too.
    dataset = job.dataset
    output = content_add_for(
        dataset=dataset, stream=io.BytesIO(data), label=label, content_type="text/csv"
    )
    parquet = content_add_for(
        dataset=dataset,
        stream=io.BytesIO(rows_parquet(result.rows, columns, job.pk)),
        label=label,
        content_type="application/vnd.apache.parquet",
    )
    model = content_add_for(
        dataset=dataset,
        stream=io.BytesIO(result.checkpoint),
        label=label,
        content_type="application/octet-stream",
    )
    return output.cid, parquet.cid, model.cid
