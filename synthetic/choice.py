"""Method "auto": which of several candidate generators' rows to publish, and why. Pure.

Every candidate went through the same evaluation and gate on the same hold-out. Only a
candidate whose gate passed can win, whatever its figures. Among those, the ordering is:

1. utility: TSTR/TRTR when the table has a target; without one, how hard the hold-out rows
   are to tell from the synthetic ones (1 − the discriminator's AUC);
2. fidelity: the quality score against the hold-out;
3. the simpler model, in the order ``PREFERENCE`` (cheaper to fit again and to explain).

Each candidate's line in the record says why it won or lost: the gate checks it failed, or
the figure on which a passing winner beat it.
"""

from __future__ import annotations

import math
from typing import Any

from .gate import LABELS, GateResult

PREFERENCE = ("copula", "tvae", "gan")
ORDERING = (
    "only candidates that pass the gate; among them the highest utility (TSTR/TRTR, or 1 − the "
    "real-vs-synthetic AUC without a target), then the highest quality, then the simpler "
    f"model ({' < '.join(LABELS[n] for n in PREFERENCE)})"
)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The figures the ordering reads from one candidate's evaluation."""
    if "utility" in report:
        utility, basis = _number(report["utility"]["ratio"]), "TSTR/TRTR"
    else:
        auc = _number(report["discriminator"]["auc"])
        utility, basis = (None if auc is None else 1.0 - auc), "1 − real-vs-synthetic AUC"
    quality = _number(report["quality"]["score"])
    return {"utility": utility, "utility_basis": basis, "quality": quality}


def _key(name: str, numbers: dict[str, Any]) -> tuple[float, float, int]:
    """Sort key, best first when sorted descending."""
    utility = numbers["utility"] if numbers["utility"] is not None else -math.inf
    quality = numbers["quality"] if numbers["quality"] is not None else -math.inf
    rank = PREFERENCE.index(name) if name in PREFERENCE else len(PREFERENCE)
    return (utility, quality, -rank)


def choose(reports: dict[str, dict[str, Any]], gates: dict[str, GateResult]) -> dict[str, Any]:
    """The record of the choice: ``winner`` (None when no candidate passes), ``best`` (the
    candidate ranked first ignoring the gate: whose rows a failed run returns), the ordering,
    and per candidate its figures, whether it passed, its rank and the reason it won or lost."""
    numbers = {name: figures(report) for name, report in reports.items()}
    ranked = sorted(reports, key=lambda n: _key(n, numbers[n]), reverse=True)
    passing = [n for n in ranked if gates[n].passed]
    winner = passing[0] if passing else None
    candidates = {}
    for position, name in enumerate(ranked, start=1):
        candidates[name] = {
            **numbers[name],
            "passed": gates[name].passed,
            "rank": position,
            "outcome": "won" if name == winner else "lost",
            "reason": _reason(name, winner, numbers, gates),
        }
    if winner is None:
        reason = (
            "no candidate passes the gate ("
            + ", ".join(LABELS.get(n, n) for n in ranked)
            + " all fail): nothing may be published"
        )
    else:
        losers = [n for n in ranked if n != winner]
        reason = f"the {LABELS.get(winner, winner)}'s rows win: {candidates[winner]['reason']}"
        if losers:
            reason += "; " + "; ".join(
                f"{LABELS.get(n, n)}: {candidates[n]['reason']}" for n in losers
            )
    return {
        "winner": winner,
        "best": ranked[0],
        "ordering": ORDERING,
        "candidates": candidates,
        "reason": reason,
    }


def _reason(
    name: str, winner: str | None, numbers: dict[str, Any], gates: dict[str, GateResult]
) -> str:
    mine = numbers[name]
    if not gates[name].passed:
        failed = [_failed(c) for c in gates[name].checks if not c.passed]
        return f"fails the gate ({'; '.join(failed)})"
    # A candidate that passes means some candidate won (the winner is the first that passes).
    assert winner is not None
    if name == winner:
        others = [n for n in numbers if n != name]
        beaten = [n for n in others if gates[n].passed]
        text = f"passes the gate with {_describe(mine)}"
        if not beaten:
            return text + ("; the only candidate that passes" if others else "")
        return text + "; ranked first of those that pass"
    best = numbers[winner]
    if mine["utility"] != best["utility"]:
        return (
            f"passes the gate but its {mine['utility_basis']} {_fmt(mine['utility'])} is below "
            f"the {LABELS.get(winner, winner)}'s {_fmt(best['utility'])}"
        )
    if mine["quality"] != best["quality"]:
        return (
            f"passes the gate with the same {mine['utility_basis']} but its quality "
            f"{_fmt(mine['quality'])} is below the {LABELS.get(winner, winner)}'s "
            f"{_fmt(best['quality'])}"
        )
    return (
        f"passes the gate with the same figures as the {LABELS.get(winner, winner)}, the "
        "simpler model"
    )


# Checks whose value must reach the threshold (the others must stay at or below theirs).
AT_LEAST = ("quality", "utility")


def _failed(check: Any) -> str:
    if check.value is None or (isinstance(check.value, float) and math.isnan(check.value)):
        return f"{check.name} undefined"
    side = "below" if check.name in AT_LEAST else "above"
    return f"{check.name} {check.value:.3f} {side} {check.threshold:.3f}"


def _describe(numbers: dict[str, Any]) -> str:
    return (
        f"{numbers['utility_basis']} {_fmt(numbers['utility'])} and quality "
        f"{_fmt(numbers['quality'])}"
    )


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"
