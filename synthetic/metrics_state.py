"""Synthetic data's state metrics (``datadao.metrics``): the job queue by status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count

from datadao.metrics import gauge
from synthetic.models import JobStatus, SyntheticJob


def jobs() -> Iterator[Any]:
    family = gauge("datadao_synthetic_jobs", "Synthetic jobs by status.", ["status"])
    counts = dict(
        SyntheticJob.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    for status in JobStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
