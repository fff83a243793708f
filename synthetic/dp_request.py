"""Differential-privacy settings and the per-dataset ε budget rule. Pure (no torch, no Django).

A dataset has a total privacy budget ε. Each DP synthesis job spends some of it (what the
accountant reports after training, at most what was requested); a new job may start only if
what was already spent plus what it requests stays within the budget. The database part (who
spent what) lives in the services; this is the rule they apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DEFAULT_DELTA = 1e-5
DEFAULT_MAX_GRAD_NORM = 1.0
MAX_EPSILON = 100.0


class BudgetExceeded(ValueError):
    """A job's ε would take a dataset past its privacy budget."""


class DPSettingsError(ValueError):
    """DP settings that make no sense (the message says which and why)."""


@dataclass(frozen=True)
class DPRequest:
    """What a job asks for: spend at most ``epsilon`` at ``delta``."""

    epsilon: float
    delta: float = DEFAULT_DELTA
    max_grad_norm: float = DEFAULT_MAX_GRAD_NORM

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DPRequest:
        unknown = set(values) - {"epsilon", "delta", "max_grad_norm"}
        if unknown:
            raise DPSettingsError(f"dp: unknown keys {', '.join(sorted(unknown))}")
        if "epsilon" not in values:
            raise DPSettingsError("dp: epsilon is required")
        request = cls(
            epsilon=float(values["epsilon"]),
            delta=float(values.get("delta", DEFAULT_DELTA)),
            max_grad_norm=float(values.get("max_grad_norm", DEFAULT_MAX_GRAD_NORM)),
        )
        request.check()
        return request

    def check(self) -> None:
        if not (math.isfinite(self.epsilon) and 0 < self.epsilon <= MAX_EPSILON):
            raise DPSettingsError(f"dp: epsilon must be in (0, {MAX_EPSILON:g}]")
        if not 0 < self.delta < 1:
            raise DPSettingsError("dp: delta must be in (0, 1)")
        if not (math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            raise DPSettingsError("dp: max_grad_norm must be above 0")


def check_budget(*, spent: float, requested: float, budget: float) -> None:
    """Raise ``BudgetExceeded`` unless ``spent + requested <= budget`` (with float slack)."""
    if requested <= 0:
        raise BudgetExceeded(f"the requested ε must be above 0, not {requested:g}")
    if spent + requested > budget + 1e-9:
        left = max(0.0, budget - spent)
        raise BudgetExceeded(
            f"ε={requested:g} would exceed the dataset's privacy budget: ε={spent:g} of "
            f"{budget:g} is already spent, {left:g} is left"
        )


def remaining_budget(*, spent: float, budget: float) -> float:
    """ε still available to new jobs."""
    return max(0.0, budget - spent)
