"""The validation score that picks which generator snapshot to keep. Pure numpy/sklearn.

GAN losses say little about sample quality, so training keeps the snapshot whose samples score
best against real rows, measured in the encoded space (cheap enough to run a few dozen times
per fit): marginal fit (1 − KS per normal score, 1 − total variation per one-hot block), the
correlations of strongly correlated pairs, and, when there is a discrete target, how well a
ridge classifier trained on generated rows predicts the real rows' target.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp
from sklearn.linear_model import RidgeClassifier

from .transform import Span

STRONG_CORRELATION = 0.5


def selection_score(
    real: np.ndarray, fake: np.ndarray, spans: list[Span], target: Span | None
) -> float:
    """Mean of the marginal, correlation and (with a target) utility scores, in [0, 1]."""
    marginals = []
    normal = [s.start for s in spans if s.kind == "normal"]
    for span in spans:
        if span.kind == "normal":
            marginals.append(1 - ks_2samp(real[:, span.start], fake[:, span.start]).statistic)
        else:
            p = real[:, span.start : span.end].mean(axis=0)
            q = fake[:, span.start : span.end].mean(axis=0)
            marginals.append(1 - 0.5 * np.abs(p - q).sum())
    parts = [float(np.mean(marginals))]
    if len(normal) > 1:
        parts.append(_correlation_score(real[:, normal], fake[:, normal]))
    if target is not None:
        parts.append(_utility_score(real, fake, target))
    return float(np.mean([p for p in parts if not np.isnan(p)]))


def _correlation_score(real: np.ndarray, fake: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        c_real = np.corrcoef(real, rowvar=False)
        c_fake = np.corrcoef(fake, rowvar=False)
    upper = np.triu(np.abs(c_real) > STRONG_CORRELATION, k=1)
    if not upper.any():
        return float("nan")
    return float(1 - np.nanmean(np.abs(c_real - c_fake)[upper]) / 2)


def _utility_score(real: np.ndarray, fake: np.ndarray, target: Span) -> float:
    keep = np.r_[0 : target.start, target.end : real.shape[1]]
    y_fake = fake[:, target.start : target.end].argmax(axis=1)
    y_real = real[:, target.start : target.end].argmax(axis=1)
    if len(np.unique(y_fake)) < 2:
        return 0.0
    # A linear model in closed form: a few milliseconds, run a few dozen times per fit.
    model = RidgeClassifier(alpha=1.0).fit(fake[:, keep], y_fake)
    return float((model.predict(real[:, keep]) == y_real).mean())
