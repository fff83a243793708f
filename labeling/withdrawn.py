"""Labeling's part in consent withdrawal (``contributions.derived``): the items made from the
withdrawn contributions and their labels are listed for the DAO, are no longer handed out, and
are left out of every later export and release."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum

from labeling.models import LabelTask, TaskStatus

# The listing names this many task ids; the counts cover them all.
LISTED_IDS = 50


def listed(dataset_id: int, contribution_ids: list[int]) -> list[dict[str, Any]]:
    tasks = LabelTask.objects.filter(dataset_id=dataset_id, contribution_id__in=contribution_ids)
    totals = tasks.aggregate(n=Count("id"), labels=Sum("label_count"))
    if not totals["n"]:
        return []
    return [
        {
            "tasks": totals["n"],
            "labels": totals["labels"] or 0,
            "settled": tasks.filter(status=TaskStatus.COMPLETE).count(),
            "task_ids": list(tasks.order_by("id").values_list("id", flat=True)[:LISTED_IDS]),
        }
    ]


def exclude(contribution_ids: list[int]) -> int:
    """Stop handing out the withdrawn items: an open task is closed where it stands (its
    labels so far are kept for the DAO's records, never exported)."""
    return LabelTask.objects.filter(
        contribution_id__in=contribution_ids, status=TaskStatus.OPEN
    ).update(status=TaskStatus.COMPLETE)
