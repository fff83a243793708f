"""Prometheus metrics (``prometheus_client``).

Two kinds:

* **Process metrics**, counted where the work happens: task runs per task and outcome (worker),
  the pipeline's received→pinned latency per lane (worker), labeling ``next``/submit latency
  (web). With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn's workers, Celery's prefork
  children), every process writes its own files there and a scrape sums them.
* **State metrics**, read from the database and the broker when ``/metrics`` is scraped: apps
  register a collector here (``register_collector``) in their ``AppConfig.ready()``:
  contributions per status, queue depth and age, pins and audit findings, reward epochs, the
  synthetic job queue, worker heartbeats.

The web's ``/metrics`` (``datadao.views.metrics``) serves both; a worker started with
``WORKER_METRICS_PORT`` serves its process metrics on that port.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

TASKS = Counter(
    "datadao_tasks",
    "Celery task runs, by task name and outcome (started, succeeded, retried, failed).",
    ["task", "outcome"],
)
PIPELINE_SECONDS = Histogram(
    "datadao_contribution_pinned_seconds",
    "From an upload received to its contribution pinned, by pipeline lane.",
    ["lane"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
LABELING_SECONDS = Histogram(
    "datadao_labeling_request_seconds",
    "Labeling API latency: next (hand out a task) and submit (record a label).",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

StateCollector = Callable[[], Iterable[Any]]
_STATE: dict[str, StateCollector] = {}


def register_collector(name: str, collect: StateCollector) -> None:
    """``collect()`` yields metric families (``GaugeMetricFamily``…) read at scrape time."""
    _STATE[name] = collect


class _State(Collector):
    def collect(self) -> Iterator[Any]:
        failed = GaugeMetricFamily(
            "datadao_metrics_collector_failed",
            "1 when a state collector failed at this scrape (see the web log).",
            labels=["collector"],
        )
        for name, collect in _STATE.items():
            try:
                yield from list(collect())
                failed.add_metric([name], 0)
            except Exception:
                logger.exception("metrics collector %s failed", name)
                failed.add_metric([name], 1)
        yield failed


class _Process(Collector):
    """This process's metrics (no multiprocess directory)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def process_registry() -> CollectorRegistry:
    """The process metrics: every process's, summed, when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    return registry


def scrape(*, state: bool = True) -> bytes:
    """The exposition text: process metrics, and (``state``) the registered state collectors."""
    registry = process_registry()
    if state:
        registry.register(_State())
    return generate_latest(registry)


def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels or [])
