"""The pipeline's Celery tasks: one per stage, each taking an ID and calling services.

Every task is idempotent (a stage already done is a no-op), uses ``acks_late`` (a worker
lost mid-task means redelivery, not loss) and is routed to its queue by name
(``validate_*``/``score_*``/``attest_*`` → validate, ``pin_*`` → pin).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ImproperlyConfigured

from contributions import pipeline, services
from datadao.celeryconf import MAX_COUNTDOWN_SECONDS
from datadao.keys import load_signer
from ipfs.backends.base import IpfsUnavailable

logger = logging.getLogger(__name__)

PIN_MAX_RETRIES = 8


@shared_task(acks_late=True, reject_on_worker_lost=True)
def validate_contribution(contribution_id: int) -> str:
    contribution = services.contribution_begin(contribution_id=contribution_id, stage="validate")
    if contribution is None:
        return "skipped"
    pipeline.run_validation(contribution)
    return "done"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def score_contribution(contribution_id: int) -> str:
    contribution = services.contribution_begin(contribution_id=contribution_id, stage="score")
    if contribution is None:
        return "skipped"
    pipeline.run_scoring(contribution)
    return "done"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def attest_contribution(contribution_id: int) -> str:
    # No key, no start: the contribution stays accepted (the sweeper offers it again) instead
    # of spending a delivery attempt on a configuration problem.
    try:
        load_signer("validator")
    except ImproperlyConfigured as exc:
        logger.error("cannot attest contribution %s: %s", contribution_id, exc)
        raise
    contribution = services.contribution_begin(contribution_id=contribution_id, stage="attest")
    if contribution is None:
        return "skipped"
    pipeline.run_attestation(contribution)
    return "done"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=PIN_MAX_RETRIES)
def pin_contribution(self, contribution_id: int) -> str:  # type: ignore[no-untyped-def]
    contribution = services.contribution_begin(contribution_id=contribution_id, stage="pin")
    if contribution is None:
        return "skipped"
    try:
        pipeline.run_pin(contribution)
    except IpfsUnavailable as exc:
        if self.request.retries >= self.max_retries:
            services.contribution_fail(
                contribution_id=contribution_id,
                stage="pin",
                reason=(
                    f"the IPFS backend stayed unreachable after {self.max_retries} retries: {exc}"
                ),
            )
            return "failed"
        # Exponential backoff, capped below the broker's visibility timeout. A retry is a new
        # delivery of the stage, so undo this one's attempt count: only crashes count.
        services.contribution_release_attempt(contribution_id=contribution_id)
        countdown = min(MAX_COUNTDOWN_SECONDS, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=countdown) from exc
    return "done"
