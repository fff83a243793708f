"""The pure rule of pre-labels (``labeling.suggestions``): the per-hold draw and the
blind-acceptance verdict."""

from __future__ import annotations

import pytest

from labeling import suggestions

KEY = b"k" * 32


def test_the_draw_shows_about_the_rate_and_is_the_same_for_a_hold():
    shown = [suggestions.shown(hold_id=i, rate=0.9, key=KEY) for i in range(20_000)]
    assert 0.88 < sum(shown) / len(shown) < 0.92
    assert shown[:50] == [suggestions.shown(hold_id=i, rate=0.9, key=KEY) for i in range(50)]
    # Another key draws other holds: without the server's key a labeler cannot tell which.
    other = [suggestions.shown(hold_id=i, rate=0.9, key=b"x" * 32) for i in range(20_000)]
    assert other != shown
    assert all(suggestions.shown(hold_id=i, rate=1.0, key=KEY) for i in range(100))
    assert not any(suggestions.shown(hold_id=i, rate=0.0, key=KEY) for i in range(100))


def test_expected_agreement_of_an_honest_labeler():
    # Both right, or both wrong alike among the two wrong classes.
    e = suggestions.expected_agreement(accuracy=0.9, model_accuracy=0.7, classes=3)
    assert e == pytest.approx(0.9 * 0.7 + 0.1 * 0.3 / 2)
    # A labeler at chance agrees with any model at chance.
    chance = suggestions.expected_agreement(accuracy=1 / 3, model_accuracy=0.8, classes=3)
    assert chance == pytest.approx(1 / 3)
    # Boxes, spans, texts: wrong answers do not coincide.
    assert suggestions.expected_agreement(
        accuracy=0.9, model_accuracy=0.7, classes=None
    ) == pytest.approx(0.63)


def test_a_blind_accepter_loses_reputation_and_an_honest_labeler_does_not():
    model = 0.7
    # Always takes the suggestion, while their check answers are at chance.
    blind = suggestions.acceptance(
        shown=200, taken=200, accuracy=1 / 3, model_accuracy=model, classes=3
    )
    assert blind is not None and blind.factor == 0.0
    assert suggestions.penalized_bps(3333, blind) == 0
    # Accuracy 0.9: agrees at about 0.645; 0.66 observed is within the margin.
    honest = suggestions.acceptance(
        shown=200, taken=132, accuracy=0.9, model_accuracy=model, classes=3
    )
    assert honest is not None and honest.excess == 0.0 and honest.factor == 1.0
    assert suggestions.penalized_bps(9000, honest) == 9000
    # A partial taker is marked down in proportion.
    partial = suggestions.acceptance(
        shown=400, taken=340, accuracy=0.9, model_accuracy=model, classes=3
    )
    assert partial is not None and 0 < partial.factor < 1
    assert partial.excess == pytest.approx(
        0.85 - partial.expected - 3 * (partial.expected * (1 - partial.expected) / 400) ** 0.5
    )


def test_too_few_shown_suggestions_give_no_verdict():
    few = suggestions.MIN_SHOWN - 1
    assert (
        suggestions.acceptance(shown=few, taken=few, accuracy=0.3, model_accuracy=0.9, classes=3)
        is None
    )
    assert suggestions.penalized_bps(8000, None) == 8000


def _answers(rng, n: int, *, labeler: float, model: float, classes: int):  # type: ignore[no-untyped-def]
    """Simulated unassisted answers: labeler and model independent given the truth, errors
    uniform among the wrong classes."""
    out = []
    for _ in range(n):
        mine = 0 if rng.random() < labeler else rng.randrange(1, classes)
        theirs = 0 if rng.random() < model else rng.randrange(1, classes)
        out.append(suggestions.Unassisted(agrees=mine == theirs, accuracy=labeler))
    return out


def test_model_accuracy_takes_the_answers_own_error_out():
    import random

    rng = random.Random(3)
    # Careful labelers (0.8) agree with a 0.6 model about 0.8·0.6 + 0.2·0.4/2 = 0.52 of the
    # time; the estimate recovers 0.6, not 0.52.
    careful = _answers(rng, 4000, labeler=0.8, model=0.6, classes=3)
    assert suggestions.model_accuracy(careful, 3) == pytest.approx(0.6, abs=0.03)
    # Known answers (check questions) count in full.
    known = [suggestions.Unassisted(agrees=i % 4 != 0, accuracy=1.0) for i in range(40)]
    assert suggestions.model_accuracy(known, 3) == pytest.approx(0.75)
    # Answers at chance weigh nothing, whatever they agree with: alone they measure nothing,
    # and added to careful ones they do not move the figure.
    chance = [suggestions.Unassisted(agrees=True, accuracy=1 / 3) for _ in range(1000)]
    assert suggestions.model_accuracy(chance, 3) is None
    assert suggestions.model_accuracy(careful + chance, 3) == suggestions.model_accuracy(careful, 3)
    # Too little weight: no figure.
    assert suggestions.model_accuracy(known[:19], 3) is None
    # Boxes, spans, texts: no chance coincidence, agreement is both right.
    free = [suggestions.Unassisted(agrees=i % 2 == 0, accuracy=0.8) for i in range(100)]
    assert suggestions.model_accuracy(free, None) == pytest.approx(0.5 / 0.8)
