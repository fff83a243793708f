"""Fixtures for the webhook tests: a real receiver on loopback, which the tests allow
explicitly (by default the platform refuses loopback, as in production)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from datadao.models import DAO
from tests.webhooks.receiver import Receiver, receiver  # noqa: F401
from webhooks import services
from webhooks.models import WebhookEndpoint

ALL_EVENTS = [
    "contribution.pinned",
    "contribution.rejected",
    "release.published",
    "epoch.closed",
    "labeling.item_settled",
    "synthetic.job_finished",
    "membership.requested",
    "challenge.opened",
    "challenge.resolved",
    "clawback.created",
]


@pytest.fixture
def loopback_allowed(settings):  # type: ignore[no-untyped-def]
    """Only loopback itself, by address: everything else stays refused."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.WEBHOOKS_ALLOWED_HOSTS = ["127.0.0.1"]
    return settings


def endpoint_for(dao: DAO, target: Receiver, events: list[str] | None = None) -> WebhookEndpoint:
    """An endpoint of ``dao`` POSTing to ``target``, which learns its secret; ``dao`` is
    refreshed so that it sees its new subscriptions, as a fresh request would."""
    endpoint, secret = services.endpoint_create(
        dao=dao, url=target.url, events=events or ALL_EVENTS, actor=dao.creator
    )
    target.secret = secret
    dao.refresh_from_db()
    return endpoint


def queued(queue: str = "default") -> list[dict[str, Any]]:
    """The messages waiting in the test broker's ``queue``: task, args and ETA of each."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    messages = []
    for raw in client.lrange(queue, 0, -1):
        headers = json.loads(raw)["headers"]
        messages.append(
            {"task": headers["task"], "args": headers["argsrepr"], "eta": headers["eta"]}
        )
    return messages


@pytest.fixture
def empty_queues() -> None:
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete("default")
