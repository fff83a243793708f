"""Reads of the synthetic app: stuck jobs for the sweeper, pin visibility, report summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contributions.selectors import dataset_visible_to
from datadao.models import User
from synthetic.models import ACTIVE, SyntheticJob


def jobs_stuck(cutoff: datetime, limit: int) -> list[int]:
    return list(
        SyntheticJob.objects.filter(status__in=ACTIVE, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:limit]
    )


def redispatch(job_id: int) -> None:
    from synthetic import tasks

    tasks.run_synthetic_job.delay(job_id)


def may_read_job_pin(user: User, job_id: str) -> bool:
    job = (
        SyntheticJob.objects.select_related("dataset").filter(pk=int(job_id)).first()
        if job_id.isdigit()
        else None
    )
    user = user if getattr(user, "is_authenticated", False) else None
    return job is None or dataset_visible_to(user, job.dataset)


def report_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per generator: the figures and the gate's checks, for the console."""
    lines = []
    for name, entry in (report.get("generators") or {}).items():
        gate = entry.get("gate") or {}
        lines.append(
            {
                "generator": name,
                "passed": gate.get("passed"),
                "checks": gate.get("checks", []),
            }
        )
    return lines
