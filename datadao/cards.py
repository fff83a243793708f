"""What the apps built on datasets add to datadao's pages about them.

datadao is the ground floor: it lists a DAO's datasets and knows nothing of uploads, releases,
labels or rewards. The apps that do plug in here in their ``AppConfig.ready()``:

* a ``CardPart`` for a dataset's card on its DAO's page: a queryset annotation (read in the
  listing's own query) and a filler that sets attributes on the listed datasets (one query
  per part, however many datasets); the page template reads the attributes;
* the reward policies a founder's checklist reads (``datadao.selectors.dao_setup_steps``).
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


# dataset ids -> {dataset id: (its reward policy's id, whether the policy pays anything)}
PolicyReader = Callable[[list[int]], dict[int, tuple[int, bool]]]
_policies: list[PolicyReader] = []


def register_reward_policies(reader: PolicyReader) -> None:
    _policies[:] = [reader]


def reward_policies(dataset_ids: list[int]) -> dict[int, tuple[int, bool]]:
    """The datasets' reward policies (none where no rewards app is installed)."""
    return _policies[0](dataset_ids) if _policies else {}
