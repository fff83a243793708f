"""The Gaussian copula baseline."""

from __future__ import annotations

import numpy as np

from synthetic.copula import GaussianCopula
from synthetic.evaluate import evaluate
from tests.synthetic.helpers import load, split


def test_same_seed_same_rows_and_types_kept() -> None:
    table, _schema = load("mixed")
    model = GaussianCopula().fit(table, target="grade")
    first = model.sample(300, np.random.default_rng(11)).records()
    assert first == model.sample(300, np.random.default_rng(11)).records()
    assert first != model.sample(300, np.random.default_rng(12)).records()
    row = first[0]
    assert isinstance(row["age"], int) and isinstance(row["member"], bool)
    assert row["joined"].endswith("T00:00:00Z")  # whole days in, whole days out


def test_values_stay_in_the_observed_range_and_missing_rate_is_kept() -> None:
    table, _ = load("mixed")
    synthetic = GaussianCopula().fit(table, target="grade").sample(4000, np.random.default_rng(0))
    for name in ("age", "score", "joined"):
        assert np.nanmin(synthetic[name]) >= np.nanmin(table[name])
        assert np.nanmax(synthetic[name]) <= np.nanmax(table[name])
    real_rate = np.isnan(table["income"]).mean()
    assert abs(np.isnan(synthetic["income"]).mean() - real_rate) < 0.04
    assert set(synthetic["grade"]) <= {"A", "B", "C"}


def test_conditioning_on_the_target_keeps_class_structure() -> None:
    table, _schema = load("wine_binned")
    train, holdout = split(table, "target")
    ratios = {}
    for conditional in (False, True):
        model = GaussianCopula(conditional=conditional).fit(train, target="target")
        synthetic = model.sample(train.n_rows, np.random.default_rng(0))
        ratios[conditional] = evaluate(train, holdout, synthetic, target="target")["utility"][
            "ratio"
        ]
    assert ratios[True] > 0.9
    assert ratios[True] > ratios[False] + 0.1
