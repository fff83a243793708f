"""The Celery app. Configuration lives in settings (``CELERY_*``), built by celeryconf."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("datadao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_embedded_broker(sender: Celery, **_: object) -> None:
    """Create the embedded broker's folders before anyone (worker, web, demo) publishes."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "inflight_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


# --- observability: one logging configuration, request ids, metrics, heartbeats ------------------


@signals.setup_logging.connect
def _logging(**_: object) -> None:
    """Workers log through the project's LOGGING (plain or JSON, each line with its request
    id), not Celery's own configuration."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _publish(headers: dict | None = None, **kwargs: object) -> None:
    from datadao import observe

    observe.on_publish(headers=headers, **kwargs)


@signals.task_prerun.connect
def _task_start(task: object = None, **kwargs: object) -> None:
    from datadao import observe

    observe.on_task_start(task=task, **kwargs)


@signals.task_postrun.connect
def _task_end(task: object = None, state: str | None = None, **kwargs: object) -> None:
    from datadao import observe

    observe.on_task_end(task=task, state=state, **kwargs)


@signals.worker_ready.connect
def _worker_ready(sender: object = None, **kwargs: object) -> None:
    from datadao import observe

    observe.on_worker_ready(hostname=getattr(sender, "hostname", "") or "")


@signals.worker_process_shutdown.connect
def _child_exit(pid: int | None = None, **kwargs: object) -> None:
    from datadao import observe

    observe.on_child_exit(pid=pid)
