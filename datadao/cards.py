"""What the apps built on datasets add to a dataset's card on its DAO's page.

datadao is the ground floor: it lists a DAO's datasets and knows nothing of uploads, releases
or labels. The apps that do register a ``CardPart`` in their ``AppConfig.ready()``: a queryset
annotation (read in the listing's own query) and a filler that sets attributes on the listed
datasets (one query per part, however many datasets). The page template reads the attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class CardPart:
    name: str
    annotate: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None
    fill: Callable[[list[Any]], None] | None = None


_PARTS: dict[str, CardPart] = {}


def register(part: CardPart) -> None:
    _PARTS[part.name] = part  # by name: a second ready() (tests) replaces, never doubles


def parts() -> tuple[CardPart, ...]:
    return tuple(_PARTS.values())
