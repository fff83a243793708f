"""What was made from a contribution, for consent withdrawal.

Apps above contributions (labeling's items and labels, synthetic sets and models) register a
``Derivation`` in their ``AppConfig.ready()``: when consent is withdrawn, each lists what it
made from the withdrawn contributions, and may stop using them. Kept free of Django imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Derivation:
    name: str
    # (dataset id, withdrawn contribution ids) -> what was derived, JSON-able dicts.
    listed: Callable[[int, list[int]], list[dict[str, Any]]]
    # Stop using the withdrawn contributions from now on (inside the withdrawal's
    # transaction); returns how many things it changed.
    exclude: Callable[[list[int]], int] | None = None


_DERIVATIONS: dict[str, Derivation] = {}


def register(derivation: Derivation) -> None:
    _DERIVATIONS[derivation.name] = derivation


def derivations() -> list[Derivation]:
    return list(_DERIVATIONS.values())
