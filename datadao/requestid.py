"""One id per request, carried through every task it causes, in every log line.

The web middleware takes the client's ``X-Request-ID`` (when it is a sane token) or makes one,
and answers with it. Every task published while it is set carries it in a message header
(``before_task_publish``), and a worker sets it for the task it runs (``task_prerun``), so the
tasks that task sends carry it on. The logging filter puts it on every record, so one grep for
the id finds a contribution's whole path from upload to pin.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "request_id"
_CURRENT: ContextVar[str] = ContextVar("request_id", default="")
_SANE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def current() -> str:
    return _CURRENT.get()


def set_current(value: str) -> None:
    _CURRENT.set(value)


def new_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def using(value: str) -> Iterator[None]:
    """Log under ``value`` (when set) for the ``with`` block: a batch task handles each
    contribution under its upload's own id."""
    if not value:
        yield
        return
    token = _CURRENT.set(value)
    try:
        yield
    finally:
        _CURRENT.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        token = _CURRENT.set(given if _SANE.fullmatch(given) else new_id())
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = _CURRENT.get()
            return response
        finally:
            _CURRENT.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` ("" outside a request or task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _CURRENT.get()
        return True


def on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish``: the current id travels in the message's headers."""
    if headers is not None and _CURRENT.get() and HEADER not in headers:
        headers[HEADER] = _CURRENT.get()


def on_task_start(task: Any = None, **_: Any) -> None:
    """``task_prerun``: the task runs under the id it was sent with (or a fresh one)."""
    request = getattr(task, "request", None)
    given = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    _CURRENT.set(given if isinstance(given, str) and _SANE.fullmatch(given) else new_id())


def on_task_end(**_: Any) -> None:
    _CURRENT.set("")
