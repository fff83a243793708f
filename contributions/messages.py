"""The messages a contribution's next step is sent with, and when.

After a stage's transaction commits, the next stage goes to the broker: one task per stage,
the express task (every stage in one delivery) for a small file, or a batch for many small
uploads. Tasks are named, not imported: ``contributions.tasks`` imports the services that call
``send_stage``.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from datadao.dispatch import send, send_on_commit
from datadao.queues import MAX_COUNTDOWN_SECONDS

logger = logging.getLogger(__name__)

STAGE_TASKS = {
    "validate": "contributions.tasks.validate_contribution",
    "score": "contributions.tasks.score_contribution",
    "attest": "contributions.tasks.attest_contribution",
    "pin": "contributions.tasks.pin_contribution",
}
EXPRESS_TASK = "contributions.tasks.process_contribution"
BATCH_TASK = "contributions.tasks.process_batch"

# The batch ticket (Redis brokers): at most one batch message in flight for every upload
# that arrives while it waits. See ``batch_ticket_send``.
TICKET_KEY = "datadao:contributions:batch-ticket"
TICKET_SECONDS = 10


def express_eligible(size: int | None) -> bool:
    """Whether a contribution of ``size`` bytes goes through the express lane (one delivery for
    all stages) rather than one task per stage. ``PIPELINE_EXPRESS_MAX_BYTES = 0`` turns the
    lane off."""
    limit = settings.PIPELINE_EXPRESS_MAX_BYTES
    return size is not None and 0 < size <= limit


def batch_enabled() -> bool:
    return connection.vendor == "postgresql" and settings.PIPELINE_BATCH_SIZE > 1


def send_stage(
    stage: str, contribution_id: int, *, size: int | None = None, batchable: bool = False
) -> None:
    """Send the task for ``stage`` once the current transaction commits (never before: a
    rolled-back change must not produce a message). Called as ``messages.send_stage`` so tests
    can replace it in one place.

    A contribution entering the pipeline (``validate``) whose ``size`` is known and small goes
    to the express task, or, when ``batchable`` (a new upload a batch will take), waits for a
    batch (``batch_ticket_send``).
    """
    if stage == "validate" and batchable:
        transaction.on_commit(batch_ticket_send)
        return
    if stage == "validate" and express_eligible(size):
        send_on_commit(EXPRESS_TASK, contribution_id)
        return
    send_on_commit(STAGE_TASKS[stage], contribution_id)


def _ticket_redis() -> Any:
    """A client for the Redis broker this process publishes to (the ticket must live where
    the batch message goes), or None with another broker (AMQP, filesystem)."""
    from celery import current_app as app

    global _redis_client
    url = str(app.conf.get("broker_write_url") or app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    if _redis_client is None or _redis_client[0] != url:
        import redis

        _redis_client = (url, redis.Redis.from_url(url, socket_timeout=2))
    return _redis_client[1]


_redis_client: tuple[str, Any] | None = None


def batch_ticket_send() -> None:
    """After a batchable upload commits: make sure a batch message is on its way.

    With a Redis broker the ticket (``SET NX`` with a TTL) lets only the first upload of a
    burst publish: a later one finds the ticket and knows a batch message is pending. The
    worker clears the ticket *before* it claims (``batch_ticket_clear``), so an upload that
    still found the ticket committed before that claim and is claimed by it, or by the next
    batch (a full batch publishes its successor before working). A lost message costs at
    most the TTL plus, for uploads in that window, the sweeper's delay, never a contribution.
    Other brokers: one message per upload (a claim that finds nothing is cheap).
    """
    client = _ticket_redis()
    if client is not None:
        try:
            if not client.set(TICKET_KEY, "1", nx=True, ex=TICKET_SECONDS):
                return
        except Exception as exc:  # Redis is only transport: publish anyway
            logger.warning("batch ticket unavailable (%s); publishing", exc)
    # The message waits PIPELINE_BATCH_LINGER_MS before it runs, so that the uploads of a
    # burst arriving meanwhile join its batch instead of each making a batch of one for an
    # idle worker: most of a batch's cost is fixed (a delivery, a claim, a transaction).
    linger = min(MAX_COUNTDOWN_SECONDS, settings.PIPELINE_BATCH_LINGER_MS / 1000)
    if not send(BATCH_TASK, countdown=linger) and client is not None:
        with suppress(Exception):
            client.delete(TICKET_KEY)  # let the next upload try again


def batch_ticket_clear() -> None:
    client = _ticket_redis()
    if client is not None:
        with suppress(Exception):
            client.delete(TICKET_KEY)
