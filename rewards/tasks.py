"""Scheduled reward work (routed to the ``rewards`` queue)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from datadao.models import DAO
from datadao.queues import MAX_COUNTDOWN_SECONDS
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


# --- settlement on chain ------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, max_retries=None)
def relay_epoch_root(self, epoch_id: int) -> str:  # type: ignore[no-untyped-def]
    """Relay one closed epoch's root; polls while its transaction awaits mining. Idempotent:
    a root already on chain is recognised, a sent transaction is followed, never re-signed
    (``rewards.relay``). The sweeper re-dispatches an epoch whose relay stopped."""
    from django.conf import settings

    from rewards import relay

    poll = settings.CHAIN_RELAY_POLL_SECONDS
    try:
        outcome = relay.epoch_relay(epoch_id=epoch_id)
    except Epoch.DoesNotExist:
        # Not a transport fault: retrying would poll for ever (no retry limit here).
        logger.error("epoch %s not relayed: there is no such epoch", epoch_id)
        return "no such epoch"
    except relay.RelayRefused as exc:
        logger.error("epoch %s not relayed: %s", epoch_id, exc)
        return "refused"
    except ImproperlyConfigured as exc:
        logger.error("epoch %s not relayed: %s", epoch_id, exc)
        return "no relayer key"
    except Exception as exc:  # transport: the node is down or slow
        logger.warning("relay of epoch %s will retry: %s", epoch_id, exc)
        raise self.retry(countdown=min(MAX_COUNTDOWN_SECONDS, poll * 4)) from exc
    if outcome.state == "pending":
        raise self.retry(countdown=min(MAX_COUNTDOWN_SECONDS, poll))
    return outcome.state


@shared_task(acks_late=True)
def chain_watch() -> dict[str, int]:
    """One pass of the chain reader over every DAO's distributor (``rewards.watch``)."""
    from rewards import watch

    results = watch.watch_all()
    return {r.dao: r.final_events + r.pending_events for r in results}


@shared_task(acks_late=True)
def chain_reconcile() -> int:
    """Compare closed epochs with what the chain shows (``rewards.reconcile``); returns the
    number of findings (each logged as an error and audited once)."""
    from rewards import reconcile

    return len(reconcile.reconcile().findings)
