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
        "copies",
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
    assert set(failed) == {"copies", "share_closer_to_training"}
    assert failed["copies"].value == 1.0
    assert failed["copies"].reason == (
        f"100.0% of generated rows ({train.n_rows} of {train.n_rows}) copy a training row, "
        "above 1.0% (the hold-out's own rate 0.0% plus 1%)"
    )
    assert "memorises" in failed["share_closer_to_training"].reason


def test_policy_thresholds_are_used() -> None:
    report = {
        "quality": {"score": 0.80},
        "real_ceiling": 0.95,
        "discriminator": {"auc": 0.6, "rows_each": 50},
        "privacy": {"copy_rate": 0.0, "share_closer_to_training": 0.5},
    }
    assert not gate(report).passed  # 0.80 < 0.9 × 0.95
    assert gate(report, GatePolicy(quality_fraction=0.8)).passed
    assert [c.name for c in gate(report).checks] == [
        "quality",
        "discriminator",
        "copies",
        "share_closer_to_training",
    ]  # no target: the discriminator stands in for utility
    report["discriminator"]["auc"] = 0.9
    assert not gate(report, GatePolicy(quality_fraction=0.8)).passed
    report["discriminator"]["auc"] = 0.6
    report["privacy"] = {
        "copy_rate": 0.25,
        "holdout_copy_rate": 0.3,
        "share_closer_to_training": 0.5,
    }
    assert gate(report, GatePolicy(quality_fraction=0.8)).passed  # a discrete table repeats rows


def test_recommend_falls_back_to_the_copula() -> None:
    good = gate(
        {
            "quality": {"score": 0.9},
            "real_ceiling": 0.9,
            "discriminator": {"auc": 0.6, "rows_each": 50},
            "privacy": {"copy_rate": 0.0, "share_closer_to_training": 0.5},
        }
    )
    bad = gate(
        {
            "quality": {"score": 0.1},
            "real_ceiling": 0.9,
            "discriminator": {"auc": 0.99, "rows_each": 50},
            "privacy": {"copy_rate": 0.1, "share_closer_to_training": 0.9},
        }
    )
    assert recommend("gan", {"gan": good, "copula": bad})["publish"] == "gan"
    fallback = recommend("gan", {"gan": bad, "copula": good})
    assert fallback["publish"] == "copula"
    assert fallback["reason"] == (
        "the GAN's rows fail the gate; the copula baseline's rows pass and may be published instead"
    )
    tvae = recommend("tvae", {"tvae": bad, "copula": good})
    assert tvae["publish"] == "copula" and tvae["reason"].startswith("the TVAE's rows fail")
    assert recommend("gan", {"gan": bad, "copula": bad})["publish"] is None
    assert recommend("copula", {"copula": good}) == {
        "publish": "copula",
        "reason": "the copula's rows pass the gate",
    }
    assert recommend("copula", {"copula": bad})["publish"] is None


def column_shuffled(train: Table, rng: np.random.Generator) -> Table:
    """Each column resampled on its own: every marginal exact, every relationship gone."""
    return Table(
        train.specs, {s.name: train[s.name][rng.permutation(train.n_rows)] for s in train.specs}
    )


def test_without_a_target_independent_columns_fail_the_gate(
    breast_cancer: tuple[Table, Table],
) -> None:
    """The attack on a gate without utility: each column resampled on its own keeps every
    column shape (quality passes), yet the rows are useless. The discriminator sees it."""
    train, holdout = breast_cancer
    synthetic = column_shuffled(train, np.random.default_rng(0))
    report = evaluate(train, holdout, synthetic, target=None)
    result = gate(report)
    failed = {c.name: c for c in result.checks if not c.passed}
    assert "utility" not in report
    assert "discriminator" in failed
    assert report["discriminator"]["auc"] > 0.95
    assert "do not keep the real relationships" in failed["discriminator"].reason
    # The copula keeps the correlations: it passes the same check.
    copula = GaussianCopula().fit(train, target=None).sample(train.n_rows, np.random.default_rng(0))
    passed = {c.name: c.passed for c in gate(evaluate(train, holdout, copula, target=None)).checks}
    assert passed["discriminator"], passed


def test_fidelity_is_scored_against_the_hold_out(breast_cancer: tuple[Table, Table]) -> None:
    """Scored against the training rows, a generator that returns its training rows would
    score a perfect 1. Against the hold-out it scores exactly the ceiling."""
    train, holdout = breast_cancer
    report = evaluate(train, holdout, train, target="target")
    assert report["quality"]["score"] == pytest.approx(report["real_ceiling"])
    assert report["quality"]["score"] < 0.99
    assert "against the hold-out" in report["quality_basis"]
    assert "training rows scored against the same hold-out" in report["real_ceiling_basis"]


def test_a_copying_model_fails_even_when_its_copies_are_dropped(
    breast_cancer: tuple[Table, Table],
) -> None:
    """The sampler drops copies of training rows from the output; counting after that would
    always say 0. Half of what this model draws is a training row: the gate must see it."""
    from synthetic.constraints import RowChecker, sample_valid

    train, holdout = breast_cancer
    copula = GaussianCopula().fit(train, target="target")

    def draw(n: int, rng: np.random.Generator) -> Table:
        fresh, copied = copula.sample(n, rng), train.take(rng.integers(0, train.n_rows, n))
        pick = rng.random(n) < 0.5
        return Table(
            train.specs,
            {s.name: np.where(pick, copied[s.name], fresh[s.name]) for s in train.specs},
        )

    schema = {"columns": [{"name": s.name, "type": s.type} for s in train.specs]}
    rows, stats = sample_valid(
        draw,
        train.n_rows,
        rng=np.random.default_rng(0),
        checker=RowChecker(schema),
        forbidden=set(train.row_keys()),
    )
    report = evaluate(train, holdout, rows, target="target", copies=(stats.copies, stats.drawn))
    assert report["privacy"]["exact_copies"] == 0  # none left in the output
    failed = {c.name: c for c in gate(report).checks if not c.passed}
    assert "copies" in failed and 0.4 < failed["copies"].value < 0.6
