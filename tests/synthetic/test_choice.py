"""Method "auto": every candidate through the same gate, the best that passes published, and
the comparison recorded; a candidate that fails the gate is never chosen."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic.candidates import evaluate_and_gate
from synthetic.choice import choose
from synthetic.copula import GaussianCopula
from synthetic.gate import GatePolicy
from synthetic.infer import InputError
from synthetic.sample_tables import wine_binned
from synthetic.synthesize import GanSettings, TvaeSettings, synthesize
from tests.synthetic.helpers import load, split

FAST = {
    "gan_settings": GanSettings(epochs=8, evaluations=2),
    "tvae_settings": TvaeSettings(epochs=30),
}


@pytest.fixture(scope="module")
def wine():  # type: ignore[no-untyped-def]
    rows, schema = wine_binned()
    result = synthesize(rows, n_rows=100, seed=0, schema=schema, method="auto", **FAST)
    return rows, schema, result


def test_auto_publishes_the_best_candidate_that_passes_and_records_why(wine) -> None:  # type: ignore[no-untyped-def]
    rows, schema, result = wine
    report = result.report
    assert report["method"] == "auto"
    assert set(report["generators"]) == {"copula", "gan", "tvae"}
    choice = report["choice"]
    lines = choice["candidates"]
    assert set(lines) == {"copula", "gan", "tvae"}
    assert sorted(line["rank"] for line in lines.values()) == [1, 2, 3]
    for name, line in lines.items():
        entry = report["generators"][name]
        # The choice reads the very figures the gate judged on the hold-out.
        assert line["utility"] == entry["utility"]["ratio"]
        assert line["quality"] == entry["quality"]["score"]
        assert line["passed"] == entry["gate"]["passed"]
        if not line["passed"]:
            assert line["reason"].startswith("fails the gate (") and line["outcome"] == "lost"
    winner = choice["winner"]
    assert winner is not None, choice["reason"]  # wine: the conditional copula passes
    assert lines[winner]["passed"] and lines[winner]["outcome"] == "won"
    # Whatever ranks above the winner failed the gate.
    above = [n for n, line in lines.items() if line["rank"] < lines[winner]["rank"]]
    assert all(not lines[n]["passed"] for n in above)
    for name, line in lines.items():
        if line["passed"] and name != winner:
            assert "passes the gate but" in line["reason"] or "same" in line["reason"]
    assert result.method == winner and result.passed and result.publish == winner
    assert report["recommendation"] == {"publish": winner, "reason": choice["reason"]}
    assert result.provenance["method"] == "auto" and result.provenance["generator"] == winner
    assert {"settings", "tvae_settings", "training", "tvae_training"} <= set(result.provenance)
    # The published rows are exactly those the winner's own method gives with the same seed.
    alone = synthesize(rows, n_rows=100, seed=0, schema=schema, method=winner, **FAST)
    assert alone.rows == result.rows and alone.checkpoint == result.checkpoint


def test_when_no_candidate_passes_nothing_is_published_and_all_figures_are_kept(wine) -> None:  # type: ignore[no-untyped-def]
    rows, schema, _ = wine
    # A utility bar no generator can clear (the real rows themselves score 1.0 of TRTR).
    strict = GatePolicy(min_utility_ratio=1.5)
    result = synthesize(
        rows, n_rows=50, seed=0, schema=schema, method="auto", policy=strict, **FAST
    )
    choice = result.report["choice"]
    assert choice["winner"] is None and result.publish is None and not result.passed
    assert result.report["recommendation"]["publish"] is None
    assert choice["reason"].endswith("nothing may be published")
    assert result.method == choice["best"]  # the rows returned (not publishable) are its
    for name, line in choice["candidates"].items():
        assert line["reason"].startswith("fails the gate (") and "utility " in line["reason"]
        assert "utility" in result.report["generators"][name]


def test_a_candidate_that_fails_the_gate_is_never_chosen_even_when_it_ranks_first() -> None:
    """The broken candidate is the training rows themselves: the best utility and quality any
    candidate can have, and a 100% copy rate, which the gate refuses."""
    table, _ = load("wine_binned")
    train, holdout = split(table, "target")
    copula = (
        GaussianCopula().fit(train, target="target").sample(train.n_rows, np.random.default_rng(0))
    )
    reports, gates = {}, {}
    for name, rows in (("copies", train), ("copula", copula)):
        reports[name], gates[name] = evaluate_and_gate(
            train, holdout, rows, target="target", seed=0
        )
    assert not gates["copies"].passed and gates["copula"].passed
    choice = choose(reports, gates)
    lines = choice["candidates"]
    assert lines["copies"]["rank"] == 1 and choice["best"] == "copies"
    assert choice["winner"] == "copula" and lines["copula"]["outcome"] == "won"
    assert lines["copies"]["outcome"] == "lost"
    assert "copies 1.000 above" in lines["copies"]["reason"]
    # Nothing passes: still no winner, whatever the figures.
    assert choose({"copies": reports["copies"]}, {"copies": gates["copies"]})["winner"] is None


def test_ties_go_to_the_simpler_model_and_without_a_target_the_discriminator_ranks() -> None:
    table, _ = load("iris")
    train, holdout = split(table, None)
    rows = GaussianCopula().fit(train).sample(200, np.random.default_rng(0))
    report, result = evaluate_and_gate(
        train, holdout, rows, target=None, seed=0, policy=GatePolicy(quality_fraction=0.5)
    )
    assert "utility" not in report and result.passed
    # The same figures under three names: the order of preference decides.
    choice = choose(
        {n: report for n in ("gan", "tvae", "copula")},
        {n: result for n in ("gan", "tvae", "copula")},
    )
    assert choice["winner"] == "copula"
    assert [choice["candidates"][n]["rank"] for n in ("copula", "tvae", "gan")] == [1, 2, 3]
    line = choice["candidates"]["gan"]
    assert line["utility"] == pytest.approx(1 - report["discriminator"]["auc"])
    assert line["utility_basis"] == "1 − real-vs-synthetic AUC"
    assert "same figures" in line["reason"]


@pytest.mark.parametrize("method", ["tvae", "auto", "copula"])
def test_differential_privacy_is_refused_for_every_method_but_the_gan(method: str) -> None:
    rows, schema = wine_binned()
    with pytest.raises(InputError, match="only available with method gan"):
        synthesize(
            rows,
            n_rows=10,
            seed=0,
            schema=schema,
            method=method,
            gan_settings=GanSettings(dp={"epsilon": 1.0}),
        )
