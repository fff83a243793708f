"""Walking the platform's keyset-paged lists: each page's ``next`` is the ``after`` of the one
that follows, null on the last. The order is stable (newest first, by a unique key), so a row
added during a walk is never met twice and never shifts a page not yet read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: The platform's largest page.
MAX_LIMIT = 100


def walk(fetch: Callable[[str | None], Mapping[str, Any]], key: str) -> Iterator[Any]:
    """Every row of a list, fetching page after page (``fetch(after)``) as the rows are used."""
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page[key]
        after = page["next"]
        if after is None:
            return


def params(after: str | None, limit: int, **filters: object) -> dict[str, str | int]:
    """The query of one page: ``after`` and ``limit``, and the filters that are set."""
    query: dict[str, str | int] = {"limit": limit}
    if after is not None:
        query["after"] = after
    query.update({name: str(value) for name, value in filters.items() if value is not None})
    return query
