"""Periodic IPFS tasks (routed to the ``pin`` queue)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from ipfs.services import garbage_collect, pin_audit_run


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
