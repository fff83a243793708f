"""What data users see of a published synthetic set: its line on the dataset page and its
entry in the dataset's next release (with its report document, ``synthetic.documents``).

Registered with ``contributions.extras`` in ``SyntheticConfig.ready()``: contributions lists
the entries under the manifest's ``"synthetic"`` key, apart from the real contributions, and
includes this app's templates on its pages.
"""

from __future__ import annotations

from typing import Any

from datadao.models import Dataset, DatasetKind
from synthetic.documents import when
from synthetic.models import JobStatus, SyntheticJob
from synthetic.services import job_report_pin

# Sets listed on the dataset page (newest first); a release lists them all.
PAGE_SETS = 10
METHOD_NAMES = {"gan": "GAN", "copula": "Gaussian copula", "augment": "image augmentation"}


def gate_figures(job: SyntheticJob) -> dict[str, Any] | None:
    """The quality and privacy gate the published rows passed: its verdict and each check's
    figure and threshold (None for an image augmentation, which has no gate)."""
    method = job.published_method or job.method
    entry = ((job.report or {}).get("generators") or {}).get(method) or {}
    gate = entry.get("gate")
    if not gate:
        return None
    checks = [
        {k: check.get(k) for k in ("name", "value", "threshold", "passed", "reason")}
        for check in gate.get("checks", [])
    ]
    return {"passed": bool(gate.get("passed")), "checks": checks}


def _dp(job: SyntheticJob) -> dict[str, float] | None:
    if job.dp_epsilon is None:
        return None
    return {"epsilon": job.dp_epsilon, "delta": job.dp_delta}


def release_entry(job: SyntheticJob) -> dict[str, Any]:
    """One published set as a release lists it: its own file, flagged synthetic, with the CIDs
    of its Parquet copy, model checkpoint and report document."""
    augment = job.published_method == "augment"
    return {
        "synthetic": True,
        "job": job.pk,
        "method": job.published_method or job.method,
        "rows": job.output_rows,
        "cid": job.output_cid,
        # An augmentation's output is the manifest of its images (each pinned on its own).
        "media_type": "application/json" if augment else "text/csv",
        "parquet_cid": job.parquet_cid or None,
        "checkpoint_cid": job.checkpoint_cid or None,
        "report_cid": job.report_cid or None,
        "seed": job.seed,
        "dp": _dp(job),
        "gate": gate_figures(job),
        "created_at": when(job.created_at),
        "finished_at": when(job.finished_at),
    }


def published_jobs(dataset_id: int) -> list[SyntheticJob]:
    return list(
        SyntheticJob.objects.filter(dataset_id=dataset_id, status=JobStatus.PUBLISHED)
        .select_related("dataset__dao")
        .order_by("pk")
    )


def release_entries(dataset_id: int, pin_label: str) -> list[dict[str, Any]]:
    """Every published set of the dataset, oldest first. A set published before report
    documents were pinned gets its document pinned now (the same bytes whoever pins them)."""
    entries = []
    for job in published_jobs(dataset_id):
        if not job.report_cid:
            job.report_cid = job_report_pin(job_id=job.pk)
        entries.append(release_entry(job))
    return entries


def entry_cids(entry: dict[str, Any]) -> list[str]:
    keys = ("cid", "parquet_cid", "checkpoint_cid", "report_cid")
    return [entry[k] for k in keys if entry.get(k)]


def may_have_sets(dataset: Dataset) -> bool:
    """Whether ``services.job_create`` accepts the dataset: tabular, or files of images."""
    if dataset.kind == DatasetKind.TABULAR:
        return True
    media_types = (dataset.schema or {}).get("media_types", [])
    return dataset.kind == DatasetKind.FILES and any(t.startswith("image/") for t in media_types)


def page_sets(dataset: Dataset) -> dict[str, Any] | None:
    """The dataset page's part: the newest published sets (one query), or None for a dataset
    that can have none (a labeling dataset, files that are not images)."""
    if not may_have_sets(dataset):
        return None
    jobs = list(
        SyntheticJob.objects.filter(dataset=dataset, status=JobStatus.PUBLISHED).order_by(
            "-created_at", "-pk"
        )[: PAGE_SETS + 1]
    )
    return {
        "sets": [
            {
                "job": job,
                "method": METHOD_NAMES.get(job.published_method or job.method, job.method),
                "images": job.published_method == "augment",
                "gate": gate_figures(job),
            }
            for job in jobs[:PAGE_SETS]
        ],
        "more": len(jobs) > PAGE_SETS,
    }
