"""Labeling's Celery tasks: IDs in, services called, idempotent, ``acks_late``."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from celery import shared_task

from contributions.sealed import Unreadable
from contributions.services import contribution_plaintext
from datadao import blobs
from labeling import services
from labeling.consensus.dataset_run import compute_run
from labeling.importer import iter_batches
from labeling.models import ImportKind
from labeling.prelabel_import import iter_prediction_batches
from labeling.services import prelabels

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def update_task_consensus(task_id: int) -> str:
    task = services.task_consensus_update(task_id=task_id)
    return "missing" if task is None else task.status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_consensus(run_id: int) -> str:
    run = services.consensus_run_begin(run_id=run_id)
    if run is None:
        return "skipped"
    try:
        outcome = compute_run(run.dataset, run.method)
    except Exception as exc:
        logger.exception("consensus run %s failed", run_id)
        services.consensus_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        return "failed"
    services.consensus_run_finish(run_id=run_id, outcome=outcome)
    return "done"


def _import_source(job: Any) -> AbstractContextManager[Path]:
    """The file an import reads: its own copy, or a sealed contribution's private plaintext."""
    from labeling.services.items import import_key

    if job.storage_name or job.contribution_id is None:
        return blobs.store().local_copy(import_key(job.storage_name))
    return contribution_plaintext(job.contribution)


def _withdrawn(job: Any) -> bool:
    from contributions.models import Contribution

    return (
        job.contribution_id is not None
        and Contribution.objects.filter(pk=job.contribution_id, withdrawn_at__isnull=False).exists()
    )


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_items(import_id: int) -> str:
    from labeling.conf import labeling_settings

    job = services.label_import_begin(import_id=import_id)
    if job is None:
        return "skipped"
    conf = labeling_settings(job.dataset.schema)
    try:
        with _import_source(job) as path, open(path, "rb") as raw:
            if job.kind == ImportKind.PREDICTIONS:
                for found, bad, done in iter_prediction_batches(raw):
                    prelabels.prediction_import_batch(
                        import_id=import_id, predictions=found, bad=bad, done_bytes=done
                    )
                services.label_import_finish(import_id=import_id)
                return "done"
            batches = iter_batches(raw, fmt=job.format, kind=conf.item_kind, task=conf.task_type)
            for items, bad, done in batches:
                if _withdrawn(job):
                    services.label_import_finish(
                        import_id=import_id, error="consent for the file was withdrawn"
                    )
                    return "withdrawn"
                services.label_import_batch(
                    import_id=import_id, items=items, bad=bad, done_bytes=done
                )
    except (ValueError, UnicodeDecodeError, OSError, Unreadable) as exc:
        services.label_import_finish(import_id=import_id, error=f"the file cannot be read: {exc}")
        return "failed"
    services.label_import_finish(import_id=import_id)
    return "done"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def release_expired_holds() -> int:
    """Periodic: give expired holds' slots back, for every labeling dataset."""
    from datadao.models import Dataset, DatasetKind

    total = 0
    for dataset_id in Dataset.objects.filter(kind=DatasetKind.LABELING).values_list(
        "pk", flat=True
    ):
        total += services.holds_release_expired(dataset_id=dataset_id, limit=10_000)
    return total


# On its own queue (``Queue.PREDICT``): a model server that answers slowly, or not at all,
# holds a predict worker, never one that labeling's consensus and imports need. The soft limit
# is above the try's own timeouts (``services.predict.TIMEOUT``), the hard one under its lease.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=110, time_limit=130)
def fetch_predictions(endpoint_id: int) -> str:
    """One batch of a dataset's model-server run (``labeling.services.predict``); the service
    sends the next batch, or the retry, itself."""
    from labeling.services.predict import prediction_batch_try

    return prediction_batch_try(endpoint_id=endpoint_id)
