"""The publication gate: may these synthetic rows be released? Pure.

Every check reports its value, its threshold and a sentence for a person, pass or fail, so a
DAO sees why a release was refused. ``recommend`` applies the fallback rule: when the rows of
the generator a job asked for (GAN or TVAE) fail and the copula baseline's pass, the copula's
rows may be published instead. ``synthetic.choice`` picks among several that pass.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds a synthetic set must meet to be published."""

    quality_fraction: float = 0.9  # of the real hold-out's own quality score
    min_utility_ratio: float = 0.90  # TSTR / TRTR, when the table has a target
    # Without a target: the AUC of a forest telling hold-out rows from synthetic ones.
    max_discriminator_auc: float = 0.85
    # Copies of training rows among everything generated (before any is dropped), above the
    # rate at which the hold-out's own rows equal a training row.
    max_copy_rate_excess: float = 0.01
    max_share_closer_to_training: float = 0.60


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    threshold: float
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateResult:
    passed: bool
    checks: list[Check]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks]}

    def failures(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]


def gate(report: dict[str, Any], policy: GatePolicy | None = None) -> GateResult:
    """Check an evaluation report (``synthetic.evaluate.evaluate``) against ``policy``."""
    policy = policy or GatePolicy()
    checks = [_quality(report, policy)]
    if "utility" in report:
        checks.append(_utility(report["utility"], policy))
    else:
        checks.append(_discriminator(report["discriminator"], policy))
    checks.extend(_privacy(report["privacy"], policy))
    return GateResult(all(c.passed for c in checks), checks)


def _ok(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _quality(report: dict[str, Any], policy: GatePolicy) -> Check:
    value = report["quality"]["score"]
    ceiling = report["real_ceiling"]
    threshold = policy.quality_fraction * ceiling if _ok(ceiling) else policy.quality_fraction
    passed = _ok(value) and value >= threshold
    basis = (
        f"{policy.quality_fraction:g} × the {ceiling:.3f} the training rows reach against the "
        "same hold-out"
    )
    if not _ok(value):
        reason = "quality could not be computed (no comparable columns)"
    elif passed:
        reason = f"quality {value:.3f} meets {threshold:.3f} ({basis})"
    else:
        reason = f"quality {value:.3f} is below {threshold:.3f} ({basis})"
    return Check("quality", value, threshold, passed, reason)


def _utility(utility: dict[str, Any], policy: GatePolicy) -> Check:
    ratio = utility["ratio"]
    threshold = policy.min_utility_ratio
    passed = _ok(ratio) and ratio >= threshold
    scores = f"{utility['metric']} {utility['tstr']:.3f} vs {utility['trtr']:.3f} on real rows"
    if not _ok(ratio):
        reason = f"utility undefined: a model trained on real rows scores {utility['trtr']:.3f}"
    elif passed:
        reason = (
            f"a model trained on synthetic rows keeps {ratio:.0%} of the real utility ({scores})"
        )
    else:
        reason = (
            f"a model trained on synthetic rows keeps only {ratio:.0%} of the real utility, "
            f"below {threshold:.0%} ({scores})"
        )
    return Check("utility", ratio, threshold, passed, reason)


def _discriminator(result: dict[str, Any], policy: GatePolicy) -> Check:
    auc = result["auc"]
    limit = policy.max_discriminator_auc
    passed = _ok(auc) and auc <= limit
    if not _ok(auc):
        reason = f"too few rows ({result['rows_each']}) to tell real from synthetic rows"
    elif passed:
        reason = f"a classifier tells synthetic from hold-out rows with AUC {auc:.3f} (≤ {limit:g})"
    else:
        reason = (
            f"a classifier tells synthetic from hold-out rows with AUC {auc:.3f}, above "
            f"{limit:g}: the rows do not keep the real relationships between columns"
        )
    return Check("discriminator", auc, limit, passed, reason)


def _privacy(privacy: dict[str, Any], policy: GatePolicy) -> list[Check]:
    rate = privacy["copy_rate"]
    natural = privacy.get("holdout_copy_rate", 0.0)
    copy_limit = natural + policy.max_copy_rate_excess
    copies_ok = rate <= copy_limit
    counted = privacy.get("copies_counted") or {}
    share = privacy["share_closer_to_training"]
    share_ok = share <= policy.max_share_closer_to_training
    limit = policy.max_share_closer_to_training
    return [
        Check(
            "copies",
            rate,
            copy_limit,
            copies_ok,
            f"{rate:.1%} of generated rows ({counted.get('copies', '?')} of "
            f"{counted.get('rows', '?')}) copy a training row"
            + (f" (at most {copy_limit:.1%}: " if copies_ok else f", above {copy_limit:.1%} (")
            + f"the hold-out's own rate {natural:.1%} plus {policy.max_copy_rate_excess:.0%})",
        ),
        Check(
            "share_closer_to_training",
            share,
            limit,
            share_ok,
            f"{share:.0%} of synthetic rows are closer to a training row than to any hold-out "
            + (
                f"row (at most {limit:.0%})"
                if share_ok
                else f"row, above {limit:.0%}: the generator memorises its training rows"
            ),
        ),
    ]


# How reports and the console name each generator.
LABELS = {"gan": "GAN", "copula": "copula", "tvae": "TVAE"}


def recommend(requested: str, gates: dict[str, GateResult]) -> dict[str, Any]:
    """Which rows may be published for a job that asked for ``requested``: its own if they
    pass, else the copula baseline's if they pass (``gates``: every generator fitted)."""
    label = LABELS.get(requested, requested)
    mine = gates.get(requested)
    if mine is not None and mine.passed:
        return {"publish": requested, "reason": f"the {label}'s rows pass the gate"}
    copula = gates.get("copula")
    if requested != "copula" and copula is not None and copula.passed:
        return {
            "publish": "copula",
            "reason": f"the {label}'s rows fail the gate; the copula baseline's rows pass and "
            "may be published instead",
        }
    return {
        "publish": None,
        "reason": "no generator's rows pass the gate: nothing may be published",
    }
