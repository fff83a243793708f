"""Synthetic data's part in consent withdrawal (``contributions.derived``): the jobs that read
the withdrawn contributions (trained on the dataset after they were pinned) are listed for
the DAO with what they published. Later jobs read only contributions whose consent stands
(``synthetic.inputs``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Min

from contributions.models import Contribution, Status
from synthetic.models import SyntheticJob


def listed(dataset_id: int, contribution_ids: list[int]) -> list[dict[str, Any]]:
    first = Contribution.objects.filter(
        pk__in=contribution_ids, status=Status.PINNED, cid__gt=""
    ).aggregate(at=Min("status_changed_at"))["at"]
    if first is None:
        return []
    jobs = SyntheticJob.objects.filter(
        dataset_id=dataset_id, created_at__gte=first, input_name=""
    ).order_by("pk")
    return [
        {
            "job": job.pk,
            "status": job.status,
            "method": job.published_method or job.method,
            "published_cid": job.output_cid,
        }
        for job in jobs
    ]
