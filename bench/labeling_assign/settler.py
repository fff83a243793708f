"""The consensus worker of the labeling benchmark, in a process of its own."""

from __future__ import annotations

import time
import traceback
from typing import Any

from bench._stats import dist


def settler_main(queue: Any, settled: Any, report: Any) -> None:
    """The consensus worker: ``task_consensus_update`` for every task id handed over."""
    import django

    django.setup()
    from django.conf import settings

    from labeling.services import task_consensus_update

    # Settled as if the undo window had passed: finished tasks leave ``next``'s candidates as
    # in a steady state, without the bench waiting a minute per task.
    settings.LABEL_UNDO_SECONDS = 0

    outcomes: dict[str, int] = {}
    times: list[float] = []
    try:
        while (task_id := queue.get()) is not None:
            start = time.perf_counter()
            task = task_consensus_update(task_id=task_id)
            times.append(1000 * (time.perf_counter() - start))
            # "open": not filled yet (every answer hands its task over) or its overlap raised.
            outcome = "missing" if task is None else ("settled" if task.status == "complete" else
                                                       "open")  # fmt: skip
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            with settled.get_lock():
                settled.value += 1
        report.put({"outcomes": outcomes, "ms": dist(times)})
    except BaseException:
        report.put({"error": traceback.format_exc()})
        raise
