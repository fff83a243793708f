"""Fleet fixtures: a private Redis the tests may kill, RabbitMQ on a throwaway vhost, and a way
to point this test process's Celery publisher at either."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import pytest
import redis
from django.conf import settings
from kombu import pools as kombu_pools

from config.celery import app
from config.celeryconf import celery_settings
from tests.contributions.conftest import dao, member, member_client, tabular  # noqa: F401
from tests.labeling.conftest import admin_user, labelers, ldao, ldataset  # noqa: F401

RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drop_publisher_connections() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    # Celery's producer pool comes from kombu's process-wide registry, keyed by connection:
    # without a reset, later tests in this process get a pool closed above ("Acquire on
    # closed pool") and their publishes fail.
    kombu_pools.reset()


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Publish from this process (uploads, the sweeper) to ``broker_url`` with the options
    celeryconf gives that broker, as a web process configured for it would."""
    conf = celery_settings(broker_url=broker_url, result_backend="", data_dir=settings.DATA_DIR)
    # Celery's broker_url prefers the CELERY_BROKER_URL variable (the session's test Redis);
    # publishers connect to broker_write_url, which falls back to it only when unset.
    saved = (app.conf.get("broker_write_url"), app.conf.broker_transport_options)
    app.conf.broker_write_url = broker_url
    app.conf.broker_transport_options = conf["CELERY_BROKER_TRANSPORT_OPTIONS"]
    _drop_publisher_connections()
    try:
        yield
    finally:
        _drop_publisher_connections()
        app.conf.broker_write_url, app.conf.broker_transport_options = saved


@dataclass
class PrivateRedis:
    """A redis-server of our own on a free port, with no persistence: stopping and starting
    it again is a broker outage that loses every message, and disturbs nothing else."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"the private redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no goodbye to clients (an outage, not a maintenance)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on the PATH (bin/services-up installs it)")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60
    )
    return result.returncode == 0


@pytest.fixture
def rabbitmq_url() -> Iterator[str]:
    """An AMQP URL on a throwaway vhost (so nothing can collide with another run), or on the
    default vhost with the project's queues purged when rabbitmqctl is not usable here."""
    if not rabbitmq_reachable():
        pytest.fail(
            f"RabbitMQ is not reachable at {RABBITMQ_HOST}:{RABBITMQ_PORT} (guest/guest): "
            "bin/services-up starts it (rabbitmq-server -detached); start it and rerun."
        )
    vhost = f"datadao-test-{uuid.uuid4().hex[:8]}"
    if _rabbitmqctl("add_vhost", vhost):
        try:
            if _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"):
                yield f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{vhost}"
                return
        finally:
            _rabbitmqctl("delete_vhost", vhost)
    url = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}//"
    _purge_project_queues(url)
    try:
        yield url
    finally:
        _purge_project_queues(url)


def _purge_project_queues(url: str) -> None:
    from kombu import Connection

    from config.celeryconf import Queue

    with Connection(url, connect_timeout=5) as conn:
        for queue in Queue:
            # A queue not declared yet has nothing to purge.
            with suppress(*conn.channel_errors):
                conn.channel().queue_purge(queue.value)
