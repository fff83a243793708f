"""deploy/ stays true to the code: every variable documented, every queue served by exactly
one process group, the pgbouncer switch doing what deploy/README.md says."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from config.celeryconf import TASK_TIME_LIMIT, Queue
from tests import fixtures_celery

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"


def _settings_variables() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    # Signer keys are read with os.environ at the moment of use; settings only names them.
    names |= set(re.findall(r"\"((?:VALIDATOR|REWARD_SIGNER)_[A-Z]+)\"", source))
    # So are the bucket's credentials (datadao/blobs.py); settings names them in a comment.
    names |= set(re.findall(r"\b(UPLOAD_S3_[A-Z_]+)\b", source))
    return names


def _env_example() -> dict[str, str]:
    """Variables of env.example, commented-out alternatives included (value kept)."""
    found: dict[str, str] = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def _active_env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))


def test_env_example_lists_every_variable_settings_reads() -> None:
    variables = _settings_variables()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "VALIDATOR_KEY", "CONN_MAX_AGE"} <= variables
    missing = variables - set(_env_example())
    assert not missing, f"add to deploy/env.example: {sorted(missing)}"


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile.host").read_text().splitlines():
        if line and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name] = shlex.split(command)
    return entries


def _queues(argv: list[str]) -> list[str]:
    return argv[argv.index("-Q") + 1].split(",")


def test_procfile_serves_every_queue_once_and_synthetic_alone() -> None:
    entries = _procfile()
    workers = {name: argv for name, argv in entries.items() if "worker" in argv}
    served = [queue for argv in workers.values() for queue in _queues(argv)]
    assert sorted(served) == sorted(q.value for q in Queue), served
    # The GPU-bound queue gets a process of its own, one job at a time.
    synthetic = next(argv for argv in workers.values() if Queue.SYNTHETIC in _queues(argv))
    assert _queues(synthetic) == [Queue.SYNTHETIC]
    assert synthetic[synthetic.index("--concurrency") + 1].endswith(":-1}")
    # Exactly one beat, and gunicorn for the web.
    assert sum("beat" in argv for argv in entries.values()) == 1
    assert entries["web"][0].endswith("gunicorn")
    for argv in workers.values():
        assert any(a.startswith(("--autoscale=", "--concurrency")) for a in argv), argv
    check = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "honcho"), "-f", str(DEPLOY / "Procfile.host"), "check"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("unit", sorted(p.name for p in SYSTEMD.glob("*.service")))
def test_systemd_units_read_the_env_file_and_only_documented_variables(unit: str) -> None:
    text = (SYSTEMD / unit).read_text()
    assert "EnvironmentFile=/etc/datadao/env\n" in text
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.MULTILINE)
    assert exec_start
    used = set(re.findall(r"\$\{([A-Z_]+)\}", exec_start.group(1)))
    # systemd expands an unset ${VAR} to nothing: each must have a value in env.example.
    missing = {name for name in used if not _active_env_example().get(name)}
    assert not missing, f"{unit} uses variables env.example does not set: {sorted(missing)}"


def test_the_worker_template_takes_its_queues_from_the_instance() -> None:
    text = (SYSTEMD / "datadao-worker@.service").read_text()
    argv = shlex.split(re.search(r"^ExecStart=(.*)$", text, re.MULTILINE).group(1))
    assert argv[argv.index("-Q") + 1] == "%I"  # unescaped: "default,rewards"
    assert "--autoscale=${WORKER_AUTOSCALE}" in argv
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", text, re.MULTILINE).group(1))
    assert stop > TASK_TIME_LIMIT  # a warm shutdown is never cut short


def _probe(extra: dict[str, str], database_url: str) -> subprocess.CompletedProcess[str]:
    # Opens a QuerySet.iterator() and counts this session's open cursors on the server.
    code = (
        "import django; django.setup();"
        "from django.db import connection as c;"
        "from django.contrib.contenttypes.models import ContentType;"
        "rows = ContentType.objects.iterator(chunk_size=1); next(rows);"
        "cur = c.cursor(); cur.execute('SELECT count(*) FROM pg_cursors');"
        "s = c.settings_dict;"
        "print(s['CONN_MAX_AGE'], s['DISABLE_SERVER_SIDE_CURSORS'], cur.fetchone()[0])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "DATABASE_POOLER")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": database_url,
    } | extra
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ["60", "False", "1"]),
        ({"DATABASE_POOLER": "pgbouncer"}, ["0", "True", "0"]),
        ({"DATABASE_POOLER": "pgbouncer", "CONN_MAX_AGE": "30"}, ["30", "True", "0"]),
    ],
)
def test_database_pooler_pgbouncer_turns_server_side_cursors_off(
    extra: dict[str, str], expected: list[str]
) -> None:
    # pgbouncer's transaction mode may run the next FETCH on another server connection, where
    # the cursor .iterator() declared does not exist: with the switch none is declared.
    result = _probe(extra, fixtures_celery.test_database_url())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


def test_an_unknown_pooler_is_refused() -> None:
    result = _probe({"DATABASE_POOLER": "pgpool"}, "postgres://postgres@127.0.0.1:5432/postgres")
    assert result.returncode != 0
    assert "DATABASE_POOLER must be empty or 'pgbouncer'" in result.stderr


def test_env_example_passes_the_deploy_checks() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "CONN_", "DATABASE_", "CELERY_"))
    }
    env |= _active_env_example() | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "k7#Qp2!vX9zL$mN4wR8tY1uI6oP3aS5dF0gH2jK4lZ7xC9vB1nM3q",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
