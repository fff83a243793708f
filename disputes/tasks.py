"""Disputes' background work: replay a challenged contribution. Thin: the task takes an id and
calls ``disputes.services``; a redelivered or duplicated message changes nothing twice (the
challenge is claimed and decided under its row lock, with a status guard)."""

from __future__ import annotations

import logging

from celery import shared_task

from datadao.blobs import StoreUnavailable
from datadao.queues import MAX_COUNTDOWN_SECONDS
from disputes import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=8)
def replay_challenge(self, challenge_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Re-run the challenged work and decide what the replay can (``disputes.replay``);
    returns the challenge's status, None when it is gone or no longer open. The file store
    out of reach: retried with backoff, the challenge staying open meanwhile (the sweeper
    dispatches it again if every retry is lost)."""
    challenge = services.challenge_replay_begin(challenge_id=challenge_id)
    if challenge is None:
        logger.info("challenge %s is gone or not open", challenge_id)
        return None
    try:
        verdict = services.challenge_replay_compute(challenge)
    except StoreUnavailable as exc:
        countdown = min(MAX_COUNTDOWN_SECONDS, 10 * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc
    decided = services.challenge_replay_finish(challenge_id=challenge_id, verdict=verdict)
    return decided.status if decided is not None else None
