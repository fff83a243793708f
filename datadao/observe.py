"""What the Celery signals (``config.celery``) and the views report: request ids on every task,
task outcomes, pipeline and labeling latency, and a worker's own metrics endpoint
(``WORKER_METRICS_PORT``)."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from datadao import metrics, requestid

logger = logging.getLogger(__name__)

SENT_AT = "sent_at"
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
# Which lane a pipeline task belongs to, for the latency histogram.
_LANES = {
    "contributions.tasks.process_batch": "batch",
    "contributions.tasks.process_contribution": "express",
}


def on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    requestid.on_publish(headers=headers)
    if headers is not None:
        # When the message was sent: the queue-age metric reads it off the oldest message.
        headers.setdefault(SENT_AT, time.time())


def on_task_start(task: Any = None, **_: Any) -> None:
    requestid.on_task_start(task=task)
    metrics.TASKS.labels(getattr(task, "name", "?"), "started").inc()


def on_task_end(task: Any = None, state: str | None = None, **_: Any) -> None:
    outcome = _OUTCOMES.get(state or "")
    if outcome is not None:
        metrics.TASKS.labels(getattr(task, "name", "?"), outcome).inc()
    requestid.on_task_end()


def current_lane() -> str:
    from celery import current_task

    name = getattr(current_task, "name", None) or ""
    if not name:
        return "web"
    return _LANES.get(name, "stages")


def pinned(received_at: list[datetime]) -> None:
    """Contributions received at these times were just pinned."""
    lane = current_lane()
    now = timezone.now()
    for at in received_at:
        metrics.PIPELINE_SECONDS.labels(lane).observe(max(0.0, (now - at).total_seconds()))


def timed(operation: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Observe a view's latency in ``LABELING_SECONDS`` under ``operation``."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def timed_view(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return view(*args, **kwargs)
            finally:
                metrics.LABELING_SECONDS.labels(operation).observe(time.perf_counter() - start)

        return timed_view

    return wrap


# --- workers -------------------------------------------------------------------------------------


def on_worker_ready(hostname: str) -> None:
    """In a worker's main process: serve this worker's metrics on ``WORKER_METRICS_PORT`` when
    set (its liveness is the heartbeat task's ``WorkerHeartbeat``)."""
    port = os.environ.get("WORKER_METRICS_PORT", "")
    if port:
        from prometheus_client import start_http_server

        address = os.environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1")
        start_http_server(int(port), addr=address, registry=metrics.process_registry())
        logger.info("worker metrics on %s:%s", address, port)


def on_child_exit(pid: int | None = None) -> None:
    if pid and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
