"""The project's configuration: settings, URLs, the Celery app and its queues, the embedded
broker, the WSGI entry point. Above every app: it wires them together and none imports it."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
