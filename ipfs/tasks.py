"""Periodic IPFS tasks (routed to the ``pin`` queue)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from datadao.queues import MAX_COUNTDOWN_SECONDS
from ipfs.replication import pin_replicate
from ipfs.services import garbage_collect, pin_audit_run

# Replicas a target could not take are retried this many times with backoff; after that the
# sweeper sends the task again (``pins_short_of_replicas``) and the audit refills them.
REPLICATE_RETRIES = 5


@shared_task(acks_late=True)
def audit_pins(sample_size: int = 100) -> dict[str, int]:
    """Re-check a sample of pinned CIDs against the backend and flag the missing ones.

    Idempotent: a repeat only re-checks (and may re-flag) the same pins.
    """
    run = pin_audit_run(sample_size=sample_size)
    return {"run": run.pk, "checked": run.checked, "missing": run.missing}


@shared_task(acks_late=True)
def collect_garbage(grace_seconds: float = 3600.0) -> dict[str, Any]:
    """Delete the embedded store's unpinned blocks (idempotent: a repeat finds less)."""
    return garbage_collect(grace_seconds=grace_seconds)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=REPLICATE_RETRIES)
def replicate_pin(self: Task, cid: str, replication: int) -> dict[str, Any]:
    """Give the pin of ``cid`` its ``replication`` copies (``ipfs.replication.pin_replicate``).

    Idempotent: replicas already made are left alone. Retried with backoff while a target
    cannot be reached.
    """
    result = pin_replicate(cid=cid, replication=replication)
    if result.get("unavailable") and self.request.retries < REPLICATE_RETRIES:
        countdown = min(MAX_COUNTDOWN_SECONDS, 30 * 2**self.request.retries)
        raise self.retry(countdown=countdown)
    return result
