"""Pre-labels (a model's suggested answer) as labelers see them, and the blind-acceptance rule.
Pure: no Django imports.

Which holds show their item's pre-label: a check question never does (its known answer must
not be hinted at), so if every other item showed one a missing suggestion would mark a check
question. A dataset's ``suggestion_rate`` below 1 hides it on a share of ordinary holds too,
drawn per hold from a keyed hash of the hold's id: the same answer for ``next`` and for the
submit that follows, nothing stored, and not computable by the labeler.

Blind acceptance: a labeler who takes every suggestion agrees with the model far more often
than their own accuracy explains. With the model's accuracy ``m`` (measured on settled
items) and the labeler's accuracy ``a`` (their reported check-question figure), an honest
labeler of a ``k``-class task agrees with the suggestion at about

    e = a·m + (1 − a)(1 − m)/(k − 1)

(both right, or both wrong the same way among the k − 1 wrong classes). The excess of the
observed rate over ``e``, beyond a binomial margin, scales their reputation down.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

# Shown suggestions before the rule judges a labeler: fewer say too little.
MIN_SHOWN = 50
# The binomial margin, in standard deviations of the agreement rate at ``e``.
MARGIN_SIGMAS = 3.0
# Reputation falls by twice the excess: an excess of 0.5 (always taking a coin-flip model's
# answer) leaves nothing.
PENALTY_SLOPE = 2.0


def shown(*, hold_id: int, rate: float, key: bytes) -> bool:
    """Whether the hold shows its item's pre-label (for an ordinary item that has one):
    true for a share ``rate`` of holds, by a keyed hash of the hold's id."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hmac.new(key, f"suggestion:{hold_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def expected_agreement(*, accuracy: float, model_accuracy: float, classes: int | None) -> float:
    """How often an honest labeler of this accuracy agrees with a model of this accuracy on
    a ``classes``-way choice (answers independent given the true class, errors uniform).
    ``classes`` None: answers where two wrong ones practically never coincide (boxes, spans,
    texts), so only both being right counts."""
    a = min(1.0, max(0.0, accuracy))
    m = min(1.0, max(0.0, model_accuracy))
    if classes is None or classes < 2:
        return a * m
    return a * m + (1 - a) * (1 - m) / (classes - 1)


@dataclass(frozen=True)
class Acceptance:
    shown: int
    taken: int
    expected: float  # the honest agreement rate ``e``
    excess: float  # observed rate above ``e`` plus the margin; 0 when within it
    factor: float  # what the labeler's reputation is multiplied by, in [0, 1]


def acceptance(
    *, shown: int, taken: int, accuracy: float, model_accuracy: float, classes: int | None
) -> Acceptance | None:
    """The rule's verdict on a labeler's suggestion figures; None under ``MIN_SHOWN``."""
    if shown < MIN_SHOWN:
        return None
    expected = expected_agreement(accuracy=accuracy, model_accuracy=model_accuracy, classes=classes)
    margin = MARGIN_SIGMAS * math.sqrt(max(expected * (1 - expected), 1e-9) / shown)
    excess = max(0.0, taken / shown - expected - margin)
    return Acceptance(
        shown=shown,
        taken=taken,
        expected=expected,
        excess=excess,
        factor=max(0.0, 1.0 - PENALTY_SLOPE * excess),
    )


def penalized_bps(reputation_bps: int, verdict: Acceptance | None) -> int:
    """Reputation in basis points after the rule (unchanged without a verdict)."""
    if verdict is None:
        return reputation_bps
    return int(reputation_bps * verdict.factor)
