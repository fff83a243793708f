"""Webhook tasks: thin, each calls a service. On the default queue (config.celeryconf)."""

from __future__ import annotations

from celery import shared_task

from webhooks.services import delivery_attempt


# A short soft limit: an attempt's own timeouts (3 s to connect, 10 s to read, 15 s in all)
# end it long before; this only bounds a receiver that trickles its answer.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=45, time_limit=60)
def deliver(delivery_id: int, due: str | None = None) -> str:
    """One attempt of a webhook delivery (``due``: the time the message was sent for; a
    message for another time is stale and does nothing)."""
    return delivery_attempt(delivery_id=delivery_id, due=due)
