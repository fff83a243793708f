"""A cursor that sends its parameters to PostgreSQL in binary, for statements that pass large
arrays (thousands of row digests).

Django's psycopg setup binds parameters on the client: each value is quoted into the SQL text
in Python, which for a ``bytea[]`` of 20,000 digests is most of the statement's cost. This
cursor binds on the server instead, with psycopg's binary dumpers (C), and never prepares a
named statement, so it works behind pgbouncer in transaction mode as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection


class _BinaryCursor(psycopg.Cursor):  # type: ignore[type-arg]
    logged = False  # set when Django logs queries (DEBUG, CaptureQueriesContext)

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("binary", True)
        kwargs["prepare"] = False
        result = super().execute(query, params, **kwargs)
        if self.logged and self._query is None:
            self._query = self._convert_query(query, params)  # for Django's query log only
        return result


@contextmanager
def wrapped_cursor(cursor_class: type) -> Iterator[Any]:
    """A psycopg cursor of ``cursor_class`` (with a ``logged`` flag) on Django's connection,
    inside Django's cursor wrapper: its error translation, execute wrappers and query log
    (``CaptureQueriesContext``) apply as to any cursor. PostgreSQL only."""
    connection.ensure_connection()
    raw = cursor_class(connection.connection)
    if connection.queries_logged:
        raw.logged = True
        wrapped = connection.make_debug_cursor(raw)
    else:
        wrapped = connection.make_cursor(raw)
    with wrapped:
        yield wrapped


def binary_cursor() -> Any:
    """A server-binding cursor sending its parameters in binary (``_BinaryCursor``)."""
    return wrapped_cursor(_BinaryCursor)
