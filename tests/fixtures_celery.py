"""A real Celery worker process for tests: same code, real broker, the test database.

The worker is a separate OS process (``celery -A config worker``), so what it writes must be
committed to be seen: tests that use it need ``transactional_db``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# Celery's warm shutdown finishes the running task; allow it before a SIGKILL.
WARM_SHUTDOWN_SECONDS = 5.0


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    hostname: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WARM_SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes the tests start."""
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


def start_worker(
    tmp_path: Path,
    *,
    queues: str = "default,validate,pin,synthetic,rewards,predict",
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
) -> WorkerProcess:
    hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
    log_path = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env |= extra_env or {}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "-Q",
                queues,
                "--hostname",
                hostname,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(process=process, hostname=hostname, log_path=log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited early:\n{worker.log()[-4000:]}")
        if " ready." in worker.log():
            return worker
        time.sleep(0.2)
    worker.stop()
    raise RuntimeError(f"the worker did not become ready in 60 s:\n{worker.log()[-4000:]}")


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 30.0,
    what: str = "",
    worker: WorkerProcess | None = None,
) -> object:
    """Poll until ``condition()`` is truthy; fail with ``what`` (and the worker's log tail)
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    log = f"\n--- worker log ---\n{worker.log()[-6000:]}" if worker else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}{log}")


@pytest.fixture
def celery_worker(transactional_db: None, tmp_path: Path) -> Iterator[WorkerProcess]:
    """One real worker process on all queues, against the test database and test Redis."""
    worker = start_worker(tmp_path)
    try:
        yield worker
    finally:
        worker.stop()
