"""When a failed delivery is tried again, and when an endpoint is given up on (no Django).

Retries back off roughly fivefold, by default 10 s, 1 min, 5 min, 30 min, 2 h, 6 h and 15 h:
eight attempts over about a day (WEBHOOKS_RETRY_DELAYS). Each delay gets up to 10 % of random
jitter, so the deliveries that failed together while a receiver was down do not all come back
at the same second.

An endpoint is disabled when it has failed persistently: at least ``after_failures`` attempts
in a row failed (any success resets the count) and the first of them is at least
``after_seconds`` old. Both, so that neither a burst of events during a short outage nor a
rare event failing for a week alone disables it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

JITTER = 0.1


def retry_delay(
    attempts: int, delays: Sequence[int], *, rand: random.Random | None = None
) -> float | None:
    """Seconds to wait after the ``attempts``-th failed attempt, or None when that was the
    last one (``len(delays) + 1`` attempts in all)."""
    if attempts < 1 or attempts > len(delays):
        return None
    base = float(delays[attempts - 1])
    return base * (1 + JITTER * (rand or random).random())  # jitter, not a secret


def should_disable(
    *,
    consecutive_failures: int,
    failing_since: datetime | None,
    now: datetime,
    after_failures: int,
    after_seconds: int,
) -> bool:
    """Whether an endpoint with this failure streak is to be disabled."""
    if failing_since is None or consecutive_failures < after_failures:
        return False
    return now - failing_since >= timedelta(seconds=after_seconds)
