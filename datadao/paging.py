"""Keyset pages for the JSON API's lists: ``?after=<cursor>&limit=<n>``, newest first.

A page is the ``limit`` rows after the cursor in one stable order (a unique integer key,
descending), so a page costs an index range scan however deep the list is, and a row added
while a client walks the list never shifts the pages it has yet to read (it comes before
them). ``next`` is the cursor of the following page, null on the last one. Cursors are opaque
to clients; today they are the last row's key in decimal.

Bad paging parameters are a 400 ``bad_page`` naming the parameter, never a silent clamp: a
script that asks for 1000 rows should learn that it gets at most ``MAX_LIMIT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import QueryDict

from datadao.errors import ApplicationError, Detail

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# A cursor is a positive key that fits PostgreSQL's bigint; longer text is no cursor.
MAX_CURSOR = 2**63 - 1

M = TypeVar("M", bound=Model)


class BadPage(ApplicationError):
    status_code = 400
    code = "bad_page"


@dataclass(frozen=True)
class PageRequest:
    after: int | None
    limit: int


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next: str | None


def page_request(params: QueryDict, *, default: int = DEFAULT_LIMIT) -> PageRequest:
    """``after`` and ``limit`` of a list request, or ``BadPage`` naming what is wrong."""
    after_text = params.get("after", "")
    limit_text = params.get("limit", "")
    after = _whole(after_text, 19) if after_text else None
    if after_text and (after is None or not 0 < after <= MAX_CURSOR):
        raise BadPage(Detail("'after' must be the 'next' cursor of a page of this same list."))
    limit = _whole(limit_text, 6) if limit_text else default
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise BadPage(Detail("'limit' must be a whole number from 1 to %(max)s.", max=MAX_LIMIT))
    return PageRequest(after=after, limit=limit)


def _whole(text: str, digits: int) -> int | None:
    # ASCII digits only: int() would take " 7", "+7", "7_0" and other scripts' digits.
    if not text.isascii() or not text.isdigit() or len(text) > digits:
        return None
    return int(text)


def keyset_page(rows: QuerySet[M], *, key: str, request: PageRequest) -> Page[M]:
    """One page of ``rows`` by ``key`` (a unique, positive integer field), descending."""
    if request.after is not None:
        rows = rows.filter(**{f"{key}__lt": request.after})
    items = list(rows.order_by(f"-{key}")[: request.limit + 1])
    more, items = len(items) > request.limit, items[: request.limit]
    cursor = str(_key(items[-1], key)) if more else None
    return Page(items=items, next=cursor)


def _key(row: Any, key: str) -> int:
    return int(getattr(row, "pk" if key == "id" else key))
