"""Root fixtures: real PostgreSQL (pytest-django), real Redis, real Celery worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.utils import translation

from tests.fixtures_celery import celery_worker  # noqa: F401
from tests.fixtures_chain import chain_node  # noqa: F401
from tests.fixtures_ipfs import fresh_ipfs_node, ipfs_node, kubo_backend  # noqa: F401
from tests.fixtures_pgbouncer import behind_pgbouncer, pgbouncer  # noqa: F401
from tests.fixtures_s3 import s3_bucket, s3_server  # noqa: F401

pytest_plugins: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """The translations the pages and error details use, compiled from locale/*.po the way
    bin/run does (in Python, datadao.catalogues), before any test renders text."""
    from pathlib import Path

    from datadao.catalogues import compile_all

    compile_all([Path(p) for p in settings.LOCALE_PATHS])


@pytest.fixture(scope="session", autouse=True)
def _clean_test_broker() -> None:
    """Start each session with an empty test broker database (Redis db 15 by default)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def client_for(client):  # type: ignore[no-untyped-def]
    """Sign a user in on the test client without SIWE (for tests not about sign-in)."""

    def sign_in(user):  # type: ignore[no-untyped-def]
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _the_settings_language() -> Iterator[None]:
    """Each test starts and ends in the settings' language. A request through LocaleMiddleware
    leaves the language it activated on the thread (a server's next request activates its own;
    a test's next ``call_command`` would speak the last request's)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_near_duplicate_indexes() -> None:
    """Each test starts with no resident near-duplicate index: a rolled-back test's ids can
    come back on SQLite, where an index grown by id would then miss the new rows."""
    from contributions import near

    near.forget_all()
