"""Backpressure: when the validation queue's oldest message is older than
``UPLOAD_BACKPRESSURE_SECONDS``, uploads are answered 503 with ``Retry-After`` instead of
growing a backlog without bound. Labeling and everything else are unaffected.

The age is read from the broker (Redis: the oldest message's ``sent_at`` header) at most every
few seconds per process, so an upload costs no broker round trip; a broker that cannot be read
never blocks uploads (their own dispatch has the sweeper behind it).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from contributions import errors
from datadao.errors import Detail
from datadao.queues import Queue

logger = logging.getLogger(__name__)
CACHE_SECONDS = 2.0
_cached: dict[str, float | None] = {"at": float("-inf"), "age": None}


def validate_backlog_age() -> float | None:
    now = time.monotonic()
    if now - (_cached["at"] or 0.0) >= CACHE_SECONDS:
        from datadao.metrics_state import oldest_age

        try:
            age = oldest_age(str(Queue.VALIDATE))
        except Exception as exc:
            logger.warning("backpressure: the broker could not be read: %s", exc)
            age = None
        _cached.update(at=now, age=age)
    return _cached["age"]


def check_backlog() -> None:
    """Refuse (``Backlogged``, 503 + Retry-After) while validation is too far behind."""
    limit = settings.UPLOAD_BACKPRESSURE_SECONDS
    if not limit:
        return
    age = validate_backlog_age()
    if age is not None and age > limit:
        raise errors.Backlogged(
            Detail(
                "Validation is %(age)s s behind (the limit is %(limit)s s); "
                "the upload was not taken. Try again shortly.",
                age=format(age, ".0f"),
                limit=limit,
            )
        )
