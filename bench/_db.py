"""The databases and settings of the benchmarks that run the platform.

Each such benchmark runs isolated from the test suite and from ``bin/run``: a PostgreSQL
database of its own (made here, dropped at the end unless kept), a Redis database or server of
its own as the broker, a temporary ``DATA_DIR``, and the production settings module relaxed for
plain HTTP on loopback exactly as ``tests/settings.py`` does (``bench_env``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"
# What a benchmark reports of the server it ran on.
DATABASE_CONTEXT = ("server_version", "fsync", "synchronous_commit", "shared_buffers")


def public_key(label: str) -> str:
    """A private key derived from a public string: for settings that need one; guards nothing."""
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


def bench_env(
    *, database: str, broker_url: str, data_dir: Path, log_level: str, **extra: str
) -> dict[str, str]:
    """This process's environment with the settings of a benchmark run: ``config.settings``
    (``DEBUG=false``) on ``database`` with ``broker_url``, HTTPS redirect and secure cookies
    off, a fixed ``SECRET_KEY``; ``extra`` on top."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG_ADMIN_URL}/{database}",
        "CELERY_BROKER_URL": broker_url,
        "DATA_DIR": str(data_dir),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": log_level,
        **extra,
    }


# --- PostgreSQL -----------------------------------------------------------------------------------


def admin(sql: str) -> None:
    """One statement on the server's ``postgres`` database, outside a transaction."""
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def drop_database(name: str) -> None:
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def manage(env: dict[str, str], *args: str) -> None:
    """``manage.py`` with ``args`` under ``env``; raises with its output when it fails."""
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        )


def migrations_fingerprint() -> str:
    """What the migrated schema depends on: Django's version and every migration file here."""
    import django

    digest = hashlib.sha256(django.__version__.encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def _template_fingerprint(template: str) -> str | None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [template],
        ).fetchone()
    return row[0] if row else None


def create_database(env: dict[str, str], database: str, template: str) -> str:
    """``database``, migrated: a copy of ``template`` (``CREATE DATABASE … TEMPLATE``, about a
    second instead of the seconds of ``migrate``), which is made again, migrated and labelled
    with ``migrations_fingerprint`` whenever a migration (or Django) changed. Says which."""
    fingerprint = migrations_fingerprint()
    how = "copied from the migrated template"
    if _template_fingerprint(template) != fingerprint:
        drop_database(template)
        admin(f"CREATE DATABASE {template}")
        template_env = env | {"DATABASE_URL": f"{PG_ADMIN_URL}/{template}"}
        manage(template_env, "migrate", "--no-input", "--skip-checks")
        admin(f"COMMENT ON DATABASE {template} IS '{fingerprint}'")
        how = "migrated (template made afresh)"
    admin(f"CREATE DATABASE {database} TEMPLATE {template}")
    return how


def database_context(names: tuple[str, ...] = DATABASE_CONTEXT) -> dict[str, str]:
    """The server's settings ``names`` (``SHOW``), through Django's connection."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


# --- Redis ----------------------------------------------------------------------------------------


def redis_size(db: int, *, flush: bool) -> int:
    """The keys in Redis database ``db`` of the shared server; flushed after when ``flush``."""
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/{db}")
    size = int(client.dbsize())
    if flush:
        client.flushdb()
    return size
