"""A worker's broker connection lost while it holds unacknowledged messages on more than one
channel: kombu's own close of that connection fails, ours does not, and workers use ours.

Against a private redis-server killed mid-consume (see ``tests/fleet/conftest.py``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
from kombu import Connection, Consumer, Exchange, Queue

from config.celery import app
from config.worker_consumer import close_lost_connection
from tests.fleet.conftest import PrivateRedis

pytestmark = pytest.mark.worker


@pytest.fixture
def lost_connection(private_redis: PrivateRedis) -> Iterator[Connection]:
    """A connection as a worker's is when its broker dies: the task channel waits in BRPOP
    with prefetched messages unacknowledged, a second channel (the worker's control channel)
    holds another, and ``collect()`` has run, as Celery's consumer does first on a loss."""
    connection = Connection(private_redis.url)
    tasks, control = Queue("t", Exchange("t"), "t"), Queue("c", Exchange("c"), "c")
    with connection.Producer() as producer:
        for i in range(3):
            producer.publish({"i": i}, exchange=tasks.exchange, routing_key="t", declare=[tasks])
        producer.publish({"c": 1}, exchange=control.exchange, routing_key="c", declare=[control])
    received: list[object] = []
    channels = [connection.default_channel, connection.channel()]
    for channel, queue in zip(channels, (tasks, control), strict=True):
        Consumer(channel, queue, callbacks=[lambda _b, m: received.append(m)],
                 accept=["json"]).consume()  # fmt: skip
    deadline = time.monotonic() + 10
    while len(received) < 4 and time.monotonic() < deadline:
        with contextlib.suppress(socket.timeout):
            connection.drain_events(timeout=0.2)
    assert len(received) == 4, "the messages were not all delivered before the outage"
    # One more wait for work: it times out with the task channel's BRPOP still outstanding.
    with pytest.raises(socket.timeout):
        connection.drain_events(timeout=0.2)
    assert connection.default_channel._in_poll, "the task channel is not waiting in BRPOP"
    private_redis.kill()
    connection.collect(socket_timeout=1)
    yield connection
    # The broker is gone: the messages cannot be handed back at interpreter exit either.
    for channel in channels:
        channel.qos._on_collect.cancel()


def test_kombu_close_of_the_lost_connection_raises(lost_connection: Connection) -> None:
    # The upstream failure the worker's consumer works around: an AttributeError, which
    # Celery's restart loop does not treat as a connection error, so the worker would exit.
    with pytest.raises(AttributeError):
        lost_connection.close()


def test_close_lost_connection_closes_it(
    lost_connection: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    close_lost_connection(lost_connection)
    assert lost_connection._closed
    assert lost_connection._default_channel is None
    assert "did not close cleanly" in caplog.text


def test_workers_use_the_consumer_that_survives_it() -> None:
    assert app.conf.worker_consumer == "config.worker_consumer:Consumer"
