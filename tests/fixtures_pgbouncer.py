"""pytest fixtures for tests that run the platform behind a real pgbouncer (tests/pgbouncer.py)
in transaction mode, as ``DATABASE_POOLER=pgbouncer`` deployments do.

A pgbouncer that cannot start fails the tests that asked for it: skipping would let the pooled
deployment go untested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.pgbouncer import PgBouncer

__all__ = ["behind_pgbouncer", "pgbouncer"]


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncer]:
    """One pgbouncer for the session, in front of the test database's PostgreSQL, with 4
    server connections per database: few enough that consecutive transactions of one client
    do change server connections when another client holds one."""
    host = connection.settings_dict.get("HOST") or "127.0.0.1"
    port = int(connection.settings_dict.get("PORT") or 5432)
    bouncer = PgBouncer(upstream_host=host, upstream_port=port, pool_size=4)
    try:
        bouncer.start()
    except Exception as exc:
        bouncer.close()
        pytest.fail(f"pgbouncer did not start: {exc}", pytrace=False)
    yield bouncer
    bouncer.close()


def pooled_settings(settings_dict: dict[str, Any], port: int) -> dict[str, Any]:
    """The connection settings ``config.settings`` makes for ``DATABASE_POOLER=pgbouncer``,
    pointed at the pooler's port."""
    options = dict(settings_dict.get("OPTIONS") or {}) | {"prepare_threshold": None}
    return settings_dict | {
        "PORT": port,
        "CONN_MAX_AGE": 0,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": options,
    }


@pytest.fixture
def behind_pgbouncer(transactional_db: None, pgbouncer: PgBouncer) -> Iterator[PgBouncer]:
    """This test process's Django connection goes through ``pgbouncer`` with the pooled
    settings for the test; the test database is committed-to (``transactional_db``), so the
    workers a test starts see what it wrote."""
    saved = connection.settings_dict.copy()
    connection.close()
    connection.settings_dict.update(pooled_settings(saved, pgbouncer.port))
    try:
        yield pgbouncer
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
