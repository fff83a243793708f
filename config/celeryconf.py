"""Celery configuration, built from the broker URL.

Kept free of Django imports so the rules can be unit-tested on their own:

* Redis / RabbitMQ: ``acks_late`` + ``reject_on_worker_lost`` + prefetch 1, so a task whose
  worker dies is redelivered; a Redis ``visibility_timeout`` longer than every countdown, retry
  delay and time limit, so a slow task is never delivered twice while it still runs.
* RabbitMQ only: publisher confirms (a publish the broker did not take raises instead of
  vanishing). Its twin of the visibility timeout is the server's ``consumer_timeout``, which
  must exceed the same limits: ``AMQP_CONSUMER_TIMEOUT_MS``, set in deploy/rabbitmq.conf.
* No broker URL: the embedded broker (``config.broker``), kombu's ``filesystem://`` transport
  with atomic writes and claims, which needs no server yet runs real worker processes. A
  consumer that dies, however it dies, has its in-flight messages put back by the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datadao.queues import (  # noqa: F401 (the names tests and settings read here)
    MAX_COUNTDOWN_SECONDS,
    TASK_SOFT_TIME_LIMIT,
    TASK_TIME_LIMIT,
    Queue,
)

# Must exceed TASK_TIME_LIMIT and MAX_COUNTDOWN_SECONDS, otherwise Redis redelivers a task
# that is still running or still waiting for its ETA: the classic double execution.
REDIS_VISIBILITY_TIMEOUT = 2 * 60 * 60
# RabbitMQ closes the channel of a consumer holding an unacknowledged message longer than this
# (30 min by default, the same as TASK_TIME_LIMIT, and an ETA task is held unacknowledged while
# it waits): the server must be configured with at least this value (deploy/rabbitmq.conf).
AMQP_CONSUMER_TIMEOUT_MS = REDIS_VISIBILITY_TIMEOUT * 1000

AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")

TASK_ROUTES: dict[str, dict[str, str]] = {
    "contributions.tasks.validate_*": {"queue": Queue.VALIDATE},
    "contributions.tasks.score_*": {"queue": Queue.VALIDATE},
    "contributions.tasks.attest_*": {"queue": Queue.VALIDATE},
    # The express lane (validate → score → attest, and pin with the embedded store).
    "contributions.tasks.process_*": {"queue": Queue.VALIDATE},
    "contributions.tasks.pin_*": {"queue": Queue.PIN},
    "ipfs.tasks.*": {"queue": Queue.PIN},
    "synthetic.tasks.*": {"queue": Queue.SYNTHETIC},
    "rewards.tasks.*": {"queue": Queue.REWARDS},
    # Before labeling's own: the first pattern that matches routes a task.
    "labeling.tasks.fetch_predictions": {"queue": Queue.PREDICT},
    "labeling.tasks.*": {"queue": Queue.DEFAULT},
    "datadao.tasks.*": {"queue": Queue.DEFAULT},
    "governance.tasks.*": {"queue": Queue.DEFAULT},
    "disputes.tasks.*": {"queue": Queue.VALIDATE},
    "webhooks.tasks.*": {"queue": Queue.DEFAULT},
}


# The embedded broker's transport: the URL stays ``filesystem://``, the class is ours.
EMBEDDED_BROKER_TRANSPORT = "config.broker:Transport"


def embedded_broker_dirs(data_dir: Path) -> tuple[Path, Path]:
    """Queue and control folders of the embedded broker (absolute, one filesystem)."""
    root = (data_dir / "broker").resolve()
    return root / "queue", root / "control"


def celery_settings(*, broker_url: str, result_backend: str, data_dir: Path) -> dict[str, Any]:
    """Return Django settings (``CELERY_*``) for the given broker URL."""
    common: dict[str, Any] = {
        "CELERY_TASK_SERIALIZER": "json",
        "CELERY_RESULT_SERIALIZER": "json",
        "CELERY_ACCEPT_CONTENT": ["json"],
        "CELERY_TIMEZONE": "UTC",
        "CELERY_ENABLE_UTC": True,
        "CELERY_TASK_SOFT_TIME_LIMIT": TASK_SOFT_TIME_LIMIT,
        "CELERY_TASK_TIME_LIMIT": TASK_TIME_LIMIT,
        "CELERY_TASK_DEFAULT_QUEUE": Queue.DEFAULT.value,
        "CELERY_TASK_ROUTES": TASK_ROUTES,
        "CELERY_TASK_CREATE_MISSING_QUEUES": True,
        "CELERY_TASK_IGNORE_RESULT": not result_backend,
        "CELERY_RESULT_BACKEND": result_backend or None,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
        "CELERY_WORKER_SEND_TASK_EVENTS": False,
        # Celery's consumer, made to reconnect after every kind of broker connection loss.
        "CELERY_WORKER_CONSUMER": "config.worker_consumer:Consumer",
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        "CELERY_BEAT_SCHEDULE_FILENAME": str(data_dir / "celerybeat-schedule"),
    }
    if broker_url:
        at_least_once = common | {
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ACKS_LATE": True,
            "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
            "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        }
        if broker_url.split(":", 1)[0].lower() in AMQP_SCHEMES:
            return at_least_once | {"CELERY_BROKER_TRANSPORT_OPTIONS": {"confirm_publish": True}}
        return at_least_once | {
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT},
            "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS": {
                "visibility_timeout": REDIS_VISIBILITY_TIMEOUT
            },
        }
    queue_dir, control_dir = embedded_broker_dirs(data_dir)
    return common | {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_TRANSPORT": EMBEDDED_BROKER_TRANSPORT,
        # acks_late: a claimed message file is deleted only once the task has finished; until
        # then a requeue, a warm shutdown or the consumer's death puts it back in the queue.
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        # The default prefetch (4) with ~0.1 s polling gives ~1,000 tasks/s on this transport;
        # prefetch 1 throttles it to a handful per second.
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 4,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "control_folder": str(control_dir),
            # Each consumer's claimed messages, on the queue's filesystem (claims are renames).
            "inflight_folder": str(queue_dir.parent / "inflight"),
            "polling_interval": 0.1,
            # No store_processed: the processed folder would grow forever.
        },
    }
