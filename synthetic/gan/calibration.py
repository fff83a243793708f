"""Post-training calibration of a generator's marginals, shared by the GAN and TVAE. Pure numpy.

A generator that gets the relationships right but a marginal a little off (a missing rate, a
rare category, a point mass's share, a score distribution a little wide or narrow) is common on
small tables. Calibration corrects the marginals and keeps the dependence:

* each one-hot block gets a bias per category, added to its logits before the Gumbel-max draw
  and fitted in a few rounds (sample, compare the category frequencies with the real ones,
  correct by the log ratio);
* each normal score gets a monotone map onto N(0, 1) (knots at its generated quantiles), which
  keeps every row's rank.

It reads the training rows' category frequencies, so a DP job (whose statistics must all come
through the accountant) never calibrates. The state is plain JSON for the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

from .transform import Span

# Generated rows used to measure each marginal.
CALIBRATION_ROWS = 8192
CALIBRATION_KNOTS = 256
# Rounds of logit-bias fitting for one-hot blocks (each round: sample, compare, correct).
LOGIT_ROUNDS = 5
# A category's response to its bias is measured (a secant step) only where it is drawn this
# often in a round and its bias moved this much: rarer ones are too noisy, and take plain
# log-ratio steps. The step is at most 1 / MIN_SLOPE times the log ratio.
SLOPE_MIN_DRAWS = 200
SLOPE_MIN_MOVE = 0.05
MIN_SLOPE = 0.2
# Added to both frequencies: a category the generator never emits gets a bounded bias.
FLOOR = 1e-4
MAX_BIAS = 20.0


class Calibration:
    """Per one-hot block (keyed by its start) logit biases, per numeric column score knots."""

    def __init__(self, state: dict[str, dict[str, list[float]]] | None = None) -> None:
        state = state or {}
        self.fitted = bool(state)
        self.scores: dict[str, list[float]] = dict(state.get("scores", {}))
        self.logits: dict[str, list[float]] = dict(state.get("logits", {}))

    def state(self) -> dict[str, dict[str, list[float]]]:
        """The checkpoint's form: {} when never fitted (a DP job, ``calibrate`` off)."""
        return {"scores": self.scores, "logits": self.logits} if self.fitted else {}

    def bias(self, span: Span) -> np.ndarray | None:
        values = self.logits.get(str(span.start))
        return None if values is None else np.asarray(values)

    def map_score(self, span: Span, values: np.ndarray) -> np.ndarray:
        """``values`` (a normal score) through the column's monotone map, if it has one."""
        knots = self.scores.get(span.column)
        if knots is None:
            return values
        levels = ndtri((np.arange(len(knots)) + 0.5) / len(knots))
        return np.interp(values, knots, levels)

    @classmethod
    def fit(
        cls,
        generate: Callable[[int, np.random.Generator, Calibration], np.ndarray],
        real: np.ndarray,
        spans: list[Span],
        rng: np.random.Generator,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Calibration:
        """Fit against the encoded ``real`` rows. ``generate(n, rng, calibration)`` draws ``n``
        encoded rows (one-hot blocks hard) under a calibration; ``skip``: the starts of blocks
        the sampler sets itself (a conditioned target), left alone."""
        calibration = cls()
        calibration.fitted = True
        onehot = [s for s in spans if s.kind == "onehot" and s.start not in skip]
        last: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per block: (bias, log p_fake)
        for _ in range(LOGIT_ROUNDS if onehot else 0):
            encoded = generate(CALIBRATION_ROWS, rng, calibration)
            for span in onehot:
                p_real = real[:, span.start : span.end].mean(axis=0) + FLOOR
                log_fake = np.log(encoded[:, span.start : span.end].mean(axis=0) + FLOOR)
                bias = calibration.bias(span)
                bias = np.zeros(span.width) if bias is None else bias
                slope = _slope(last.get(span.start), bias, log_fake)
                last[span.start] = (bias, log_fake)
                bias = np.clip(bias + (np.log(p_real) - log_fake) / slope, -MAX_BIAS, MAX_BIAS)
                calibration.logits[str(span.start)] = bias.tolist()
        # The score maps are measured on rows drawn under the fitted biases, without maps.
        encoded = generate(CALIBRATION_ROWS, rng, cls({"logits": calibration.logits}))
        levels = (np.arange(CALIBRATION_KNOTS) + 0.5) / CALIBRATION_KNOTS
        for i, span in enumerate(spans):
            if span.kind != "normal":
                continue
            values = encoded[:, span.start]
            nxt = spans[i + 1] if i + 1 < len(spans) else None
            if nxt is not None and nxt.modes and nxt.column == span.column:
                values = values[encoded[:, nxt.start] == 1.0]  # rows that keep a value
            if len(values) >= CALIBRATION_KNOTS:
                knots = np.quantile(values, levels)
                calibration.scores[span.column] = np.maximum.accumulate(knots).tolist()
        return calibration


def _slope(
    last: tuple[np.ndarray, np.ndarray] | None, bias: np.ndarray, log_fake: np.ndarray
) -> np.ndarray:
    """Per category, d log(frequency) / d bias over the last round (1 where not measurable).

    A confident generator (a decoder whose logits are far apart) answers a bias with much
    less than the log ratio it was given: plain log-ratio steps then take many rounds."""
    slope = np.ones_like(bias)
    if last is None:
        return slope
    bias_before, log_before = last
    moved = bias - bias_before
    drawn = np.exp(np.minimum(log_fake, log_before)) * CALIBRATION_ROWS
    measurable = (np.abs(moved) >= SLOPE_MIN_MOVE) & (drawn >= SLOPE_MIN_DRAWS)
    ratio = np.divide(log_fake - log_before, moved, out=np.ones_like(bias), where=measurable)
    slope[measurable] = np.clip(ratio[measurable], MIN_SLOPE, 1.0)
    return slope


def draw_onehot(
    logits: np.ndarray, rng: np.random.Generator, bias: np.ndarray | None
) -> np.ndarray:
    """One category per row from softmax(``logits`` + ``bias``) by Gumbel-max, as a hard block."""
    n, width = logits.shape
    noisy = logits + rng.gumbel(size=(n, width))
    if bias is not None:
        noisy = noisy + bias
    block = np.zeros((n, width))
    block[np.arange(n), noisy.argmax(axis=1)] = 1.0
    return block
