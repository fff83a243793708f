"""The worker's consumer: Celery's own, made to survive every broker connection loss.

Kept free of Django imports; ``celeryconf`` selects it with ``worker_consumer``.

When the broker goes away, Celery's consumer first ``collect()``s the lost connection, which
drops the kombu transport's reference to its connection settings, and then ``close()``s it.
If a channel was left open by ``collect()`` (its close failed part-way, e.g. a socket that
timed out mid-``BRPOP``) and still holds prefetched, unacknowledged messages, the second close
tries to hand them back to the broker through a client built from the settings that are now
gone, and kombu's Redis transport raises ``AttributeError``. That error is not one of the
connection errors the consumer ignores, so it escapes the restart loop and the worker process
exits ("Unrecoverable error") instead of reconnecting.

Nothing is lost by ignoring it: the broker is unreachable, so those messages could not be
handed back anyway. Redis redelivers them after the visibility timeout, and what the broker
forgot entirely the sweeper re-dispatches from the database.
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Connection

logger = logging.getLogger(__name__)


def close_lost_connection(connection: Connection) -> None:
    """Close a connection whose broker is gone, tolerating a transport already torn down."""
    try:
        Connection.close(connection)
    except AttributeError:
        logger.warning(
            "the lost broker connection did not close cleanly; its unacknowledged messages "
            "are left to the broker's redelivery and the sweeper",
            exc_info=True,
        )
        # What a clean close would have left: nothing of the old connection to reuse.
        connection._default_channel = None
        connection._connection = None
        connection._transport = None
        connection._closed = True


class Consumer(CeleryConsumer):  # type: ignore[misc]
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        connection = self.connection
        if connection is not None:
            # Celery closes the lost connection with ``connection.close``; this instance's
            # attribute takes the method's place for that one call.
            connection.close = connection.release = lambda: close_lost_connection(connection)
        super().on_connection_error_after_connected(exc)
