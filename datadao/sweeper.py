"""The sweeper: re-dispatches work stuck in a non-final state, and purges leftovers.

A lost broker message (Redis flushed, a SIGKILLed worker on the embedded broker, a crash
between commit and publish) can delay work but never lose it: the database says what is
unfinished, and each app registers a ``Sweep`` that finds it and dispatches it again. Tasks are
idempotent, so a duplicate dispatch is harmless. A ``Purge`` removes what a dead process left
behind (a half-received upload in the staging folder) once it is old enough to be surely dead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)

# Bound one sweep so a huge backlog is drained over several runs instead of one giant burst.
MAX_PER_SWEEP = 1000


@dataclass(frozen=True)
class Sweep:
    name: str
    # IDs in a non-final state whose last change is older than the cutoff.
    find_stuck: Callable[[datetime, int], Iterable[int]]
    dispatch: Callable[[int], None]


@dataclass(frozen=True)
class Purge:
    name: str
    # Removes what is older than its own safe age at ``now``; returns how many it removed.
    run: Callable[[datetime], int]


_REGISTRY: dict[str, Sweep] = {}
_PURGES: dict[str, Purge] = {}


def register(sweep: Sweep) -> None:
    """Register (or replace, by name) a sweep. Apps call this from ``AppConfig.ready``."""
    _REGISTRY[sweep.name] = sweep


def register_purge(purge: Purge) -> None:
    """Register (or replace, by name) a purge. Apps call this from ``AppConfig.ready``."""
    _PURGES[purge.name] = purge


def run_purges(*, now: datetime) -> dict[str, int]:
    """Run every purge once; return how many items each removed."""
    return {purge.name: purge.run(now) for purge in _PURGES.values()}


def registered() -> list[Sweep]:
    return list(_REGISTRY.values())


def run_sweeps(*, now: datetime, stuck_after: timedelta) -> dict[str, int]:
    """Dispatch every stuck item once; return how many per sweep."""
    cutoff = now - stuck_after
    counts: dict[str, int] = {}
    for sweep in registered():
        count = 0
        for item_id in sweep.find_stuck(cutoff, MAX_PER_SWEEP):
            sweep.dispatch(item_id)
            count += 1
        if count:
            logger.warning("sweeper re-dispatched %d stuck item(s) of %s", count, sweep.name)
        counts[sweep.name] = count
    return counts
