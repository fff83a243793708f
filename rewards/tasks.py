"""Scheduled reward work (routed to the ``rewards`` queue)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from datadao.models import DAO
from rewards import services
from rewards.models import Epoch, EpochStatus

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def close_due_epochs() -> list[int]:
    """Close every open epoch older than its DAO's ``epoch_days``; returns the closed ids.

    Idempotent: closing is one locked transaction per epoch and a closed epoch is skipped. An
    epoch with nothing to settle stays open; a missing signer key is logged, not retried hard.
    """
    closed: list[int] = []
    now = timezone.now()
    for dao in DAO.objects.filter(epoch_days__isnull=False):
        due = Epoch.objects.filter(
            dao=dao,
            status=EpochStatus.OPEN,
            opened_at__lte=now - timedelta(days=dao.epoch_days or 0),
        ).first()
        if due is None:
            continue
        try:
            closed.append(services.epoch_close(dao=dao, actor=None, number=due.number).pk)
        except services.RewardsError as exc:
            logger.info("epoch %s of %s not closed: %s", due.number, dao.slug, exc)
        except ImproperlyConfigured as exc:
            logger.error("cannot close epochs of %s: %s", dao.slug, exc)
    return closed


@shared_task(bind=True, acks_late=True, max_retries=24)
def close_demo_epoch(self, dao_id: int, expected_credits: int) -> int | None:  # type: ignore[no-untyped-def]
    """Demo only: close the demo DAO's first epoch once its contributions are credited
    (retries every 5 s for two minutes while the worker is still pinning them)."""
    from rewards.models import RewardEntry

    dao = DAO.objects.filter(pk=dao_id).first()
    if dao is None or Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED).exists():
        return None
    if RewardEntry.objects.filter(dao=dao, epoch__isnull=True).count() < expected_credits:
        raise self.retry(countdown=5)
    return services.epoch_close(dao=dao, actor=None).pk
