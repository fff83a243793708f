"""What the apps above contributions add for their kind of dataset.

Contributions sits below the apps built on its uploads (labeling turns a pinned file into items
to label). Those apps plug in here, in their ``AppConfig.ready()``, instead of contributions
importing them: a pinned contribution becomes their work, a release lists their results, a
dataset page shows their summary. Kept free of Django imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KindHooks:
    # A contribution of this kind was pinned (inside the pin's transaction): its file at path.
    on_pinned: Callable[[Any, Path], object] | None = None
    # The release entry of a dataset of this kind (dataset id, pin label), or None.
    release_entry: Callable[[int, str], dict[str, Any] | None] | None = None
    # What the dataset's public page shows for this kind (a template context value).
    page_summary: Callable[[Any], Any] | None = None


_HOOKS: dict[str, KindHooks] = {}
_NONE = KindHooks()


def register(kind: str, hooks: KindHooks) -> None:
    _HOOKS[kind] = hooks


def hooks_for(kind: str) -> KindHooks:
    return _HOOKS.get(kind, _NONE)
