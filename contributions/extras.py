"""What the apps above contributions publish next to a dataset's contributions.

``contributions.kinds`` is one set of hooks per dataset kind; an extra is orthogonal to the
kind (synthetic sets are made from tabular and image datasets alike). An app registers one
``Extra`` per thing it publishes, in its ``AppConfig.ready()``, so contributions never imports
it: a release lists the extra's entries under its own manifest key, never among the
contributions, and the dataset and release pages include the app's templates. Kept free of
Django imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Extra:
    # The release manifest's key for the entries (and the name the pages know the part by).
    name: str
    # The entries the next release of a dataset lists (dataset id, the release's pin label),
    # canonical JSON-able dicts in a stable order; empty: the manifest has no such key.
    release_entries: Callable[[int, str], list[dict[str, Any]]]
    # Every CID an entry names, for the release's CAR archive.
    entry_cids: Callable[[dict[str, Any]], list[str]]
    # What the dataset's public page shows (the dataset -> a template value; None: nothing),
    # rendered by ``page_template`` with the value as ``extra``.
    page: Callable[[Any], Any] | None = None
    page_template: str = ""
    # The release page's part, rendered with the release's entries as ``entries``.
    release_template: str = ""


_EXTRAS: dict[str, Extra] = {}


def register(extra: Extra) -> None:
    _EXTRAS[extra.name] = extra  # by name: a second ready() (tests) replaces, never doubles


def extras() -> tuple[Extra, ...]:
    return tuple(_EXTRAS.values())
