"""The Celery app. Configuration lives in settings (``CELERY_*``), built by celeryconf."""

from __future__ import annotations

import os

from celery import Celery

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
