"""Pre-labels (a model's suggested answer) as labelers see them, and the blind-acceptance rule.
Pure: no Django imports.

Which holds show their item's pre-label: a check question never does (its known answer must
not be hinted at), so if every other item showed one a missing suggestion would mark a check
question. A dataset's ``suggestion_rate`` below 1 hides it on a share of ordinary holds too,
drawn per hold from a keyed hash of the hold's id: the same answer for ``next`` and for the
submit that follows, nothing stored, and not computable by the labeler.

Blind acceptance: a labeler who takes every suggestion agrees with the model far more often
than their own accuracy explains. With the model's accuracy ``m`` and the labeler's accuracy
``a`` (their reported check-question figure), an honest labeler of a ``k``-class task agrees
with the suggestion at about

    e = a·m + (1 − a)(1 − m)/(k − 1)

(both right, or both wrong the same way among the k − 1 wrong classes). The excess of the
observed rate over ``e``, beyond a binomial margin, scales their reputation down.

The model's accuracy ``m`` is measured only on answers given without a suggestion
(``model_accuracy``): check questions' known answers, and labels on holds that showed none.
Measured against the consensus instead, it would be measured against the very answers the
rule judges: a crowd taking suggestions pulls the consensus to the model, the model looks
right, a high ``e`` is expected of everyone, and taking its answers looks honest.
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


# The least weight (sum of ``a − c`` over the answers, see ``model_accuracy``) that measures
# the model: about this many answers from a perfect labeler. Fewer say too little.
MIN_MEASURE_WEIGHT = 20.0


@dataclass(frozen=True)
class Unassisted:
    """One answer given without a suggestion, held against the item's pre-label."""

    agrees: bool  # the answer matches the pre-label by the task type's rule
    accuracy: float  # how often its giver is right: 1 for a check question's known answer


def model_accuracy(answers: list[Unassisted], classes: int | None) -> float | None:
    """The model's accuracy from unassisted answers' agreement with it, each answer's own
    error taken out; None when they weigh under ``MIN_MEASURE_WEIGHT``.

    An answer of accuracy ``a`` agrees with a model of accuracy ``m`` with probability
    ``c + m·(a − c)``, ``c = (1 − a)/(k − 1)`` its chance of coinciding with a wrong model
    answer (``expected_agreement``; 0 where answers rarely coincide by chance). Summed over
    the answers (the moment estimate), ``m = Σ(agree − c) / Σ(a − c)``: a known answer counts
    in full, a careful labeler's nearly so, and an answer at chance (``a − c`` = 0) not at
    all, so labelers who answer at random when nothing is suggested move nothing."""
    numerator = weight = 0.0
    for answer in answers:
        a = min(1.0, max(0.0, answer.accuracy))
        chance = (1 - a) / (classes - 1) if classes is not None and classes >= 2 else 0.0
        if a <= chance:
            continue  # at or below chance: says nothing about the model
        numerator += (1.0 if answer.agrees else 0.0) - chance
        weight += a - chance
    if weight < MIN_MEASURE_WEIGHT:
        return None
    return min(1.0, max(0.0, numerator / weight))


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
