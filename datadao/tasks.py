"""Platform-wide periodic tasks. Thin: each calls a service."""

from __future__ import annotations

import socket
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from datadao.services import worker_heartbeat_record
from datadao.signin import siwe_nonces_purge
from datadao.sweeper import run_purges, run_sweeps


@shared_task(acks_late=True, ignore_result=False)
def heartbeat() -> str:
    """Record that a worker is alive (idempotent upsert). Returns the worker's hostname."""
    hostname = socket.gethostname()
    from celery import current_task

    if current_task and current_task.request.hostname:
        hostname = current_task.request.hostname
    worker_heartbeat_record(hostname=hostname)
    return hostname


@shared_task(acks_late=True)
def sweep() -> dict[str, int]:
    """Re-dispatch work stuck in a non-final state, run the registered purges (orphaned
    staging files, ...) and purge expired sign-in nonces."""
    now = timezone.now()
    counts = run_sweeps(now=now, stuck_after=timedelta(seconds=settings.SWEEP_STUCK_AFTER_SECONDS))
    counts.update(run_purges(now=now))
    counts["siwe_nonces_purged"] = siwe_nonces_purge()
    return counts
