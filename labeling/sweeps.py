"""What the sweeper finds stuck in labeling, and how it dispatches it again."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from labeling.models import (
    ConsensusRun,
    LabelImport,
    LabelTask,
    PredictionEndpoint,
    PredictionState,
    RunStatus,
    TaskStatus,
)


def tasks_waiting(cutoff: datetime, limit: int) -> list[int]:
    """Open tasks with all the labels they want whose consensus message was lost."""
    return list(
        LabelTask.objects.filter(status=TaskStatus.OPEN, label_count__gte=F("wanted"))
        .exclude(consensus_at__gt=cutoff)
        .values_list("pk", flat=True)[:limit]
    )


def redispatch_task(task_id: int) -> None:
    from labeling import tasks

    tasks.update_task_consensus.delay(task_id)


def runs_stuck(cutoff: datetime, limit: int) -> list[int]:
    return list(
        ConsensusRun.objects.filter(
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING], created_at__lt=cutoff
        )
        .exclude(started_at__gt=cutoff)
        .values_list("pk", flat=True)[:limit]
    )


def redispatch_run(run_id: int) -> None:
    from labeling import tasks

    tasks.run_consensus.delay(run_id)


def imports_stuck(cutoff: datetime, limit: int) -> list[int]:
    return list(
        LabelImport.objects.filter(
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING], updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:limit]
    )


def redispatch_import(import_id: int) -> None:
    from labeling import tasks

    tasks.import_items.delay(import_id)


def prediction_runs_stuck(cutoff: datetime, limit: int) -> list[int]:
    """Model-server runs under way whose next try is overdue (its message was lost)."""
    return list(
        PredictionEndpoint.objects.filter(
            state__in=[PredictionState.QUEUED, PredictionState.RUNNING], next_try_at__lt=cutoff
        ).values_list("pk", flat=True)[:limit]
    )


def redispatch_prediction_run(endpoint_id: int) -> None:
    from labeling import tasks

    tasks.fetch_predictions.delay(endpoint_id)
