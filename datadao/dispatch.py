"""Publishing tasks after commit, without failing the request when the broker is down.

The database is the system of record: a change commits first, then its task is published.
If the broker cannot be reached at that moment the work is not lost, it is late: the row is
in a non-final state and the sweeper (``datadao.tasks.sweep``) dispatches it again. So a
publish failure is logged, never turned into a 500 for a request whose change is committed.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError

from datadao.queues import MAX_COUNTDOWN_SECONDS

logger = logging.getLogger(__name__)


def task_named(name: str) -> Any:
    """The task called ``name`` (``app.tasks.function``). Services name the tasks they send
    instead of importing the modules that define them (those modules import the services).
    The module is imported here, at the first send: only a worker imports every tasks module
    at start, and a web or command process may send before anything else imported it."""
    from celery import current_app as app

    if name not in app.tasks:
        importlib.import_module(name.rsplit(".", 1)[0])
    return app.tasks[name]


def send(task: Any, *args: Any, countdown: float | None = None) -> bool:
    """Publish ``task`` (a task, or a registered task's name) now, to run ``countdown``
    seconds from now when given; False (logged) when the broker is unreachable."""
    if isinstance(task, str):
        task = task_named(task)
    try:
        if countdown:
            # Capped like every countdown (tests/faults/test_limits.py).
            task.apply_async(args=args, countdown=min(MAX_COUNTDOWN_SECONDS, countdown))
        else:
            task.delay(*args)
    except (OperationalError, OSError) as exc:
        logger.warning(
            "could not publish %s%r (%s); the sweeper will dispatch it again", task.name, args, exc
        )
        return False
    return True


def send_on_commit(task: Any, *args: Any) -> None:
    """Publish once the current transaction commits (never for a rolled-back change);
    ``task`` as for ``send``."""
    transaction.on_commit(lambda: send(task, *args))
