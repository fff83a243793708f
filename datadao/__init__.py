"""datadao: DAOs, datasets, memberships, wallet users, SIWE auth, audit, console scoping."""

from datadao.celery import app as celery_app

__all__ = ["celery_app"]
