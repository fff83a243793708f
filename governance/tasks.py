"""Governance's periodic work: close, publish and execute proposals as they fall due. Thin:
each task takes IDs and calls ``governance.services``; every step is idempotent, so a
redelivered or duplicated message changes nothing twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from datadao.dispatch import send
from datadao.sweeper import MAX_PER_SWEEP
from governance import services
from ipfs.backends.base import IpfsUnavailable

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def settle_due_proposals() -> list[int]:
    """Send ``settle_proposal`` for each proposal with a step due now (beat, every minute)."""
    due = services.proposals_due(now=timezone.now(), limit=MAX_PER_SWEEP)
    for proposal_id in due:
        send(settle_proposal, proposal_id)
    return due


@shared_task(bind=True, acks_late=True, max_retries=12)
def settle_proposal(self, proposal_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Close a proposal whose period ended, pin it with its votes, and execute it once its
    timelock has run; returns its status (None when it is gone). IPFS out of reach: retried
    with backoff, the proposal staying closed meanwhile."""
    try:
        proposal = services.proposal_settle(proposal_id=proposal_id)
    except IpfsUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(15 * 60, 10 * 2**self.request.retries)) from exc
    if proposal is None:
        logger.info("proposal %s is gone", proposal_id)
        return None
    return proposal.status
