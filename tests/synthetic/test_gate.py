"""The publication gate refuses bad generators, with a reason per check."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic.copula import GaussianCopula
from synthetic.evaluate import evaluate
from synthetic.gate import GatePolicy, gate, recommend
from synthetic.table import Table
from tests.synthetic.helpers import load, split


@pytest.fixture(scope="module")
def breast_cancer() -> tuple[Table, Table]:
    table, _ = load("breast_cancer")
    return split(table, "target")


def noise_like(train: Table, n: int, rng: np.random.Generator) -> Table:
    """A useless generator: each column uniform over its range or its categories."""
    data = {}
    for spec in train.specs:
        column = train[spec.name]
        if spec.numeric:
            data[spec.name] = rng.uniform(np.nanmin(column), np.nanmax(column), n)
        else:
            values = sorted(set(column.tolist()), key=repr)
            picked = np.empty(n, dtype=object)
            picked[:] = [values[i] for i in rng.integers(0, len(values), n)]
            data[spec.name] = picked
    return Table(train.specs, data)


def test_a_good_generator_passes(breast_cancer: tuple[Table, Table]) -> None:
    train, holdout = breast_cancer
    synthetic = (
        GaussianCopula().fit(train, target="target").sample(train.n_rows, np.random.default_rng(0))
    )
    result = gate(evaluate(train, holdout, synthetic, target="target"))
    assert result.passed, result.failures()
    assert [c.name for c in result.checks] == [
        "quality",
        "utility",
        "exact_copies",
        "share_closer_to_training",
    ]
    assert result.failures() == []


def test_noise_is_refused_on_quality_and_utility(breast_cancer: tuple[Table, Table]) -> None:
    train, holdout = breast_cancer
    synthetic = noise_like(train, train.n_rows, np.random.default_rng(0))
    report = evaluate(train, holdout, synthetic, target="target")
    result = gate(report)
    assert not result.passed
    failed = {c.name: c for c in result.checks if not c.passed}
    assert set(failed) == {"quality", "utility"}
    assert failed["quality"].reason.startswith("quality 0.")
    assert "is below" in failed["quality"].reason
    assert failed["quality"].threshold == pytest.approx(0.9 * report["real_ceiling"])
    assert "keeps only" in failed["utility"].reason


def test_copying_training_rows_is_refused_on_privacy(breast_cancer: tuple[Table, Table]) -> None:
    train, holdout = breast_cancer
    copies = train.take(np.random.default_rng(0).permutation(train.n_rows))
    result = gate(evaluate(train, holdout, copies, target="target"))
    failed = {c.name: c for c in result.checks if not c.passed}
    assert set(failed) == {"exact_copies", "share_closer_to_training"}
    assert failed["exact_copies"].value == train.n_rows
    assert failed["exact_copies"].reason == (
        f"{train.n_rows} synthetic rows are exact copies of training rows"
    )
    assert "memorises" in failed["share_closer_to_training"].reason


def test_policy_thresholds_are_used() -> None:
    report = {
        "quality": {"score": 0.80},
        "real_ceiling": 0.95,
        "privacy": {"exact_copies": 0, "share_closer_to_training": 0.5},
    }
    assert not gate(report).passed  # 0.80 < 0.9 × 0.95
    assert gate(report, GatePolicy(quality_fraction=0.8)).passed
    assert [c.name for c in gate(report).checks] == [
        "quality",
        "exact_copies",
        "share_closer_to_training",
    ]  # no target, no utility check


def test_recommend_falls_back_to_the_copula() -> None:
    good = gate(
        {
            "quality": {"score": 0.9},
            "real_ceiling": 0.9,
            "privacy": {"exact_copies": 0, "share_closer_to_training": 0.5},
        }
    )
    bad = gate(
        {
            "quality": {"score": 0.1},
            "real_ceiling": 0.9,
            "privacy": {"exact_copies": 3, "share_closer_to_training": 0.9},
        }
    )
    assert recommend(good, bad)["publish"] == "gan"
    fallback = recommend(bad, good)
    assert fallback["publish"] == "copula"
    assert "copula baseline's rows pass and may be published instead" in fallback["reason"]
    assert recommend(bad, bad)["publish"] is None
    assert recommend(None, good) == {
        "publish": "copula",
        "reason": "the copula's rows pass the gate",
    }
