"""Our fidelity score against SDMetrics' QualityReport, utility, DCR and exact copies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from synthetic import privacy as privacy_module
from synthetic.copula import GaussianCopula
from synthetic.evaluate import evaluate, quality
from synthetic.privacy import exact_copies, privacy
from synthetic.table import Table
from tests.synthetic.helpers import load, metadata, split, to_frame

sdmetrics_reports = pytest.importorskip("sdmetrics.reports")


def sdmetrics_score(real: Table, synthetic: Table) -> float:
    report = sdmetrics_reports.QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"t": to_frame(real)},
            {"t": to_frame(synthetic)},
            {"tables": {"t": metadata(real)}},
            verbose=False,
        )
    return float(report.get_score())


@pytest.mark.parametrize(
    ("name", "conditional"),
    [
        ("breast_cancer", True),  # 31 columns, 465 pairs: the slow one, run once
        ("wine_binned", False),
        ("wine_binned", True),
        ("mixed", False),
        ("mixed", True),
    ],
)
def test_quality_matches_sdmetrics(name: str, conditional: bool) -> None:
    table, schema = load(name)
    train, holdout = split(table, schema["target"])
    model = GaussianCopula(conditional=conditional).fit(train, target=schema["target"])
    synthetic = model.sample(train.n_rows, np.random.default_rng(3))
    ours = quality(train, synthetic)
    assert ours["pairs_counted"] > 0
    assert ours["score"] == pytest.approx(sdmetrics_score(train, synthetic), abs=0.01)
    # The real ceiling is the same score for real hold-out rows.
    assert quality(train, holdout)["score"] == pytest.approx(
        sdmetrics_score(train, holdout), abs=0.01
    )


def test_identical_tables_score_one() -> None:
    table, _ = load("mixed")
    assert quality(table, table)["score"] == pytest.approx(1.0)


def test_report_has_every_part() -> None:
    table, _schema = load("iris")
    train, holdout = split(table, "species")
    synthetic = GaussianCopula().fit(train, target="species").sample(200, np.random.default_rng(0))
    report = evaluate(train, holdout, synthetic, target="species")
    assert report["rows"] == {"train": train.n_rows, "holdout": holdout.n_rows, "synthetic": 200}
    assert 0.8 < report["real_ceiling"] <= 1
    assert report["utility"]["metric"] == "accuracy"
    assert report["utility"]["ratio"] == pytest.approx(
        report["utility"]["tstr"] / report["utility"]["trtr"]
    )
    # Iris has one decimal: a raw copula repeats real rows (the run's sampler redraws them).
    assert report["privacy"]["exact_copies"] == exact_copies(train, synthetic)
    assert 0 <= report["privacy"]["share_closer_to_training"] <= 1


def test_numeric_target_uses_r2() -> None:
    table, _ = load("diabetes")
    train, holdout = split(table, None)
    synthetic = GaussianCopula().fit(train).sample(train.n_rows, np.random.default_rng(0))
    utility = evaluate(train, holdout, synthetic, target="target")["utility"]
    assert utility["metric"] == "r2"
    assert utility["ratio"] > 0.5


def test_copies_of_training_rows_are_counted_and_sit_closer_to_training() -> None:
    table, schema = load("wine_binned")
    train, holdout = split(table, schema["target"])
    copies = train.take(np.arange(20))
    assert exact_copies(train, copies) == 20
    assert exact_copies(train, holdout) == 0
    result = privacy(train, holdout, train, seed=0)
    # Every training row is at distance 0 from itself; the subsample keeps ~holdout/train.
    assert result["share_closer_to_training"] > 0.6
    assert result["exact_copies"] == train.n_rows


def test_the_dcr_share_of_real_rows_no_generator_saw_is_one_half() -> None:
    """The perfect generator: rows drawn from the table itself, exchangeable with the training
    and hold-out rows. Averaged over training subsamples the share stays an unbiased estimate of
    the fair one half (each subsample is), within a few hundredths on every split."""
    table, schema = load("breast_cancer")
    target = schema["target"]
    shares = []
    for seed in range(3):
        rest, holdout = split(table, target, seed=seed)
        train, fresh = split(rest, target, seed=seed + 10)
        result = privacy(train, holdout, fresh, seed=seed)
        spread = result["share_subsamples"]
        assert spread["count"] == privacy_module.SUBSAMPLES
        assert spread["rows_each"] == holdout.n_rows
        assert spread["min"] <= result["share_closer_to_training"] <= spread["max"]
        shares.append(result["share_closer_to_training"])
    assert all(0.42 < s < 0.58 for s in shares), shares
    assert 0.45 < float(np.mean(shares)) < 0.55, shares


def test_the_dcr_share_averages_subsamples_the_first_of_which_is_the_single_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One subsample gives the single-subsample estimate a seed always gave; more subsamples
    give the mean of as many such estimates (the same expectation, less of their variance)."""
    table, schema = load("wine_binned")
    train, holdout = split(table, schema["target"])
    synthetic = (
        GaussianCopula().fit(train, target="target").sample(train.n_rows, np.random.default_rng(1))
    )
    averaged = privacy(train, holdout, synthetic, seed=3)
    monkeypatch.setattr(privacy_module, "SUBSAMPLES", 1)
    single = privacy(train, holdout, synthetic, seed=3)
    assert single["share_subsamples"]["count"] == 1
    assert single["share_subsamples"]["min"] == single["share_closer_to_training"]
    # The average's first subsample is the single estimate's.
    assert averaged["share_subsamples"]["min"] <= single["share_closer_to_training"]
    assert single["share_closer_to_training"] <= averaged["share_subsamples"]["max"]
    # A copy of the training rows sits closer to training under either estimate.
    assert privacy(train, holdout, train, seed=3)["share_closer_to_training"] > 0.7
