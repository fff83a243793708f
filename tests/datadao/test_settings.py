"""Production settings pass Django's deploy checks; Celery's reliability rules hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.celeryconf import (
    MAX_COUNTDOWN_SECONDS,
    REDIS_VISIBILITY_TIMEOUT,
    TASK_SOFT_TIME_LIMIT,
    TASK_TIME_LIMIT,
    Queue,
    celery_settings,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECRET_KEY": "k7#Qp2!vX9zL$mN4wR8tY1uI6oP3aS5dF0gH2jK4lZ7xC9vB1nM3q",
    "ALLOWED_HOSTS": "data.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def _run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run Python with ``env`` over this environment less every setting the tests set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "TRUSTED_"))
    }
    for key in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"):
        clean.pop(key, None)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run("manage.py", *args, env=env)


def test_check_deploy_is_clean_with_the_documented_production_variables() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = PRODUCTION_ENV | {"SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr


def test_redis_settings_are_at_least_once() -> None:
    conf = celery_settings(broker_url="redis://x", result_backend="", data_dir=Path("/tmp"))
    assert conf["CELERY_TASK_ACKS_LATE"] is True
    assert conf["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert conf["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 1
    assert conf["CELERY_ACCEPT_CONTENT"] == ["json"]
    assert conf["CELERY_TASK_SERIALIZER"] == "json"


def test_every_limit_and_countdown_is_below_the_visibility_timeout() -> None:
    conf = celery_settings(broker_url="redis://x", result_backend="", data_dir=Path("/tmp"))
    visibility = conf["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    assert visibility == REDIS_VISIBILITY_TIMEOUT
    assert TASK_SOFT_TIME_LIMIT < TASK_TIME_LIMIT < visibility
    assert visibility > MAX_COUNTDOWN_SECONDS + TASK_TIME_LIMIT


def test_every_queue_is_routed_and_known() -> None:
    conf = celery_settings(broker_url="redis://x", result_backend="", data_dir=Path("/tmp"))
    routed = {route["queue"] for route in conf["CELERY_TASK_ROUTES"].values()}
    assert routed == {q.value for q in Queue}


def test_embedded_broker_is_the_filesystem_transport_done_right(tmp_path: Path) -> None:
    conf = celery_settings(broker_url="", result_backend="", data_dir=tmp_path)
    assert conf["CELERY_BROKER_URL"] == "filesystem://"
    options = conf["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["data_folder_in"] == options["data_folder_out"]
    assert Path(options["data_folder_in"]).is_absolute()
    assert Path(options["control_folder"]).parent == Path(options["data_folder_in"]).parent
    assert options["polling_interval"] <= 0.1
    assert "store_processed" not in options
    assert conf["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 4


@pytest.mark.parametrize("variable", ["DATABASE_URL", "CELERY_BROKER_URL", "IPFS_API_URL"])
def test_defaults_are_embedded_when_no_variable_is_set(variable: str) -> None:
    probe = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.IPFS_BACKEND)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {probe}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "embedded"]


def test_migrations_match_the_models() -> None:
    result = _manage(
        "makemigrations", "--check", "--dry-run", env=PRODUCTION_ENV | {"DEBUG": "true"}
    )
    assert result.returncode == 0, result.stdout + result.stderr


# A plain-HTTP request from a client that claims the proxy saw HTTPS, sent through the whole
# middleware stack of a process started with the production settings.
_FORGED_PROTO_PROBE = """
import django, json
django.setup()
from django.test import Client
client = Client(HTTP_HOST="data.example.org")
out = {}
for name, headers in (("forged", {"X-Forwarded-Proto": "https"}), ("plain", {})):
    response = client.get("/auth/me", headers=headers)
    hsts = response.get("Strict-Transport-Security")
    out[name] = [response.status_code, response.get("Location"), hsts]
print(json.dumps(out))
"""


def _forged_proto(env: dict[str, str]) -> dict[str, list]:
    result = _run("-c", _FORGED_PROTO_PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_x_forwarded_proto_is_not_believed_without_a_trusted_proxy() -> None:
    """Attack: reach the app over plain HTTP and send ``X-Forwarded-Proto: https`` to pass as
    a secure request (no HTTPS redirect, no HSTS, an https origin for sign-in)."""
    answers = _forged_proto(PRODUCTION_ENV)
    redirect = [301, "https://data.example.org/auth/me", None]
    assert answers == {"forged": redirect, "plain": redirect}


def test_x_forwarded_proto_is_believed_behind_a_trusted_proxy() -> None:
    answers = _forged_proto(PRODUCTION_ENV | {"TRUSTED_PROXY": "true"})
    assert answers["forged"] == [200, None, "max-age=31536000; includeSubDomains; preload"]
    assert answers["plain"] == [301, "https://data.example.org/auth/me", None]
