"""The ground floor's state metrics (``datadao.metrics``): the broker's queues and the workers'
heartbeats."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.utils import timezone

from datadao.metrics import gauge
from datadao.models import WorkerHeartbeat
from datadao.queues import Queue

logger = logging.getLogger(__name__)
SENT_AT = "sent_at"
# Workers not seen for this long are dropped from the metrics (retired hosts).
FORGET_AFTER = timedelta(days=1)


def _oldest_sent_at(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        sent = json.loads(raw).get("headers", {}).get(SENT_AT)
    except (ValueError, AttributeError):
        return None
    return float(sent) if isinstance(sent, (int, float)) else None


def queue_stats() -> dict[str, tuple[int, float | None]]:
    """Messages waiting and the age of the oldest (seconds; None when unknown) per queue.
    Redis: LLEN and the oldest message's ``sent_at`` header; the embedded broker: the files
    waiting; RabbitMQ: the depth (a passive declare), no age."""
    from celery import current_app

    stats: dict[str, tuple[int, float | None]] = {}
    with current_app.connection_for_read() as connection:
        transport = connection.transport_cls
        channel = connection.default_channel
        now = time.time()
        for queue in Queue:
            name = str(queue)
            if transport in ("redis", "rediss"):
                client = channel.client
                depth = int(client.llen(name))
                # Redis lists are pushed on the left and popped on the right: the oldest is -1.
                sent = _oldest_sent_at(client.lindex(name, -1)) if depth else None
                stats[name] = (depth, None if sent is None else max(0.0, now - sent))
            elif transport == "filesystem":
                stats[name] = (_filesystem_depth(connection, name), None)
            else:
                try:
                    declared = channel.queue_declare(queue=name, passive=True)
                    stats[name] = (int(declared.message_count), None)
                except Exception:  # not declared yet: nothing waits in it
                    stats[name] = (0, None)
    return stats


def oldest_age(queue: str) -> float | None:
    """Age in seconds of the oldest message waiting in ``queue`` (Redis only; None when the
    queue is empty or the broker does not say)."""
    from celery import current_app

    with current_app.connection_for_read() as connection:
        if connection.transport_cls not in ("redis", "rediss"):
            return None
        sent = _oldest_sent_at(connection.default_channel.client.lindex(queue, -1))
    return None if sent is None else max(0.0, time.time() - sent)


def _filesystem_depth(connection: Any, queue: str) -> int:
    from pathlib import Path

    folder = Path(connection.transport_options.get("data_folder_in", ""))
    if not folder.is_dir():
        return 0
    return sum(1 for entry in folder.iterdir() if entry.name.endswith(f".{queue}.msg"))


def queues() -> Iterator[Any]:
    depth = gauge("datadao_queue_messages", "Messages waiting in a broker queue.", ["queue"])
    age = gauge(
        "datadao_queue_oldest_message_age_seconds",
        "Age of the oldest message waiting in a queue (Redis; 0 when empty).",
        ["queue"],
    )
    for name, (count, oldest) in queue_stats().items():
        depth.add_metric([name], count)
        if oldest is not None or count == 0:
            age.add_metric([name], oldest or 0.0)
    yield depth
    yield age


def heartbeats() -> Iterator[Any]:
    age = gauge(
        "datadao_worker_heartbeat_age_seconds",
        "Seconds since each worker last ran its heartbeat task.",
        ["worker"],
    )
    now = timezone.now()
    for hostname, seen in WorkerHeartbeat.objects.filter(
        last_seen__gte=now - FORGET_AFTER
    ).values_list("hostname", "last_seen"):
        age.add_metric([hostname], max(0.0, (now - seen).total_seconds()))
    yield age
