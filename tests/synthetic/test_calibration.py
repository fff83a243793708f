"""The marginal calibration the GAN and TVAE share (``synthetic.gan.calibration``): category
frequencies and score distributions corrected after training, from generated rows only."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from synthetic.gan.calibration import Calibration, draw_onehot
from synthetic.gan.transform import Span

SPANS = [Span("x", "normal", 0, 1), Span("c", "onehot", 1, 3)]


def _confident(n: int, rng: np.random.Generator, calibration: Calibration) -> np.ndarray:
    """A generator whose logits are far apart (a latent picks its category with margin 6), as a
    trained decoder's are, and whose scores are too wide and shifted."""
    z = rng.standard_normal(n)
    logits = np.zeros((n, 3))
    logits[np.arange(n), np.digitize(z, [0.8, 1.6])] = 6.0
    out = np.zeros((n, 4))
    out[:, 1:] = draw_onehot(logits, rng, calibration.bias(SPANS[1]))
    out[:, 0] = calibration.map_score(SPANS[0], 1.5 * rng.standard_normal(n) + 0.4)
    return out


def test_frequencies_and_scores_match_the_real_ones_and_the_fit_repeats() -> None:
    rng = np.random.default_rng(0)
    want = np.array([0.5, 0.3, 0.2])
    real = np.zeros((4000, 4))
    real[np.arange(4000), 1 + rng.choice(3, 4000, p=want)] = 1.0
    real[:, 0] = rng.standard_normal(4000)
    before = _confident(20_000, np.random.default_rng(1), Calibration())[:, 1:].mean(axis=0)
    assert abs(before[0] - ndtr(0.8)) < 0.02  # 0.79 against 0.5 asked for
    fitted = Calibration.fit(_confident, real, SPANS, np.random.default_rng(2))
    out = _confident(20_000, np.random.default_rng(3), fitted)
    assert np.abs(out[:, 1:].mean(axis=0) - real[:, 1:].mean(axis=0)).max() < 0.02
    assert abs(out[:, 0].mean()) < 0.05 and abs(out[:, 0].std() - 1) < 0.05
    again = Calibration.fit(_confident, real, SPANS, np.random.default_rng(2))
    assert again.state() == fitted.state()
    assert Calibration(fitted.state()).state() == fitted.state()
    # Never fitted (a DP job, calibration off): nothing in the checkpoint, nothing changed.
    assert Calibration().state() == {}


def test_a_block_the_sampler_sets_is_left_alone() -> None:
    real = np.zeros((100, 4))
    real[:, 1] = 1.0
    fitted = Calibration.fit(_confident, real, SPANS, np.random.default_rng(0), skip=frozenset({1}))
    assert fitted.bias(SPANS[1]) is None and "x" in fitted.scores
