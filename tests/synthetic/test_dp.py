"""Differential privacy: ε recorded by the accountant, the budget rule, refusals."""

from __future__ import annotations

import time

import pytest

from synthetic.dp_request import (
    BudgetExceeded,
    DPRequest,
    DPSettingsError,
    check_budget,
    remaining_budget,
)
from synthetic.gan.dp_sgd import epochs_for_budget, plan
from synthetic.gan.train import GanSettings, train
from synthetic.infer import InputError
from synthetic.synthesize import synthesize
from tests.synthetic.helpers import load, mixed_rows

# Iris's columns are lengths in cm: a range anyone may declare without looking at the rows.
IRIS_PUBLIC = {
    name: {"min": 0, "max": 10}
    for name in ("sepal length _cm_", "sepal width _cm_", "petal length _cm_", "petal width _cm_")
} | {"species": {"allowed": ["setosa", "versicolor", "virginica"]}}


def test_epsilon_is_accounted_and_recorded() -> None:
    table, _ = load("iris")
    settings = GanSettings(epochs=4, dp={"epsilon": 2.0, "delta": 1e-5})
    gan = train(table, target="species", seed=0, settings=settings, public=IRIS_PUBLIC)
    dp = gan.info["dp"]
    assert dp["accountant"] == "rdp"
    assert dp["steps"] == dp["planned_steps"] == 4 * gan.info["steps_per_epoch"]
    # The noise was chosen to spend DP-SGD's share of ε over the planned steps, no more; the
    # column statistics spend the rest.
    assert dp["epsilon_statistics"] == pytest.approx(0.4)
    assert 1.8 < dp["epsilon"] <= 2.0 + 1e-6
    assert dp["epsilon"] == pytest.approx(dp["epsilon_sgd"] + dp["epsilon_statistics"])
    assert dp["delta_sgd"] + dp["delta_statistics"] == pytest.approx(dp["delta"])
    assert dp["noise_multiplier"] > 0 and dp["max_grad_norm"] == 1.0
    assert "not covered: the number of training rows" in dp["scope"]
    assert dp["statistics"]["columns"]["species"] == "declared values, noisy counts"
    assert gan.settings.pac == 1  # the unit of privacy is one row
    assert gan.info["best_epoch"] == 0  # no snapshot selection on real rows


def test_a_time_budget_plans_the_noise_for_the_epochs_it_runs() -> None:
    """Under a time budget the epochs are fixed (from a timing on generated rows) before the
    noise is calibrated: the run spends about the ε asked for, not the share of it that the
    epoch cap's plan would leave, and never more."""
    table, _ = load("iris")
    settings = GanSettings(epochs=100_000, time_budget_s=3.0, dp={"epsilon": 1.0})
    gan = train(table, target="species", seed=0, settings=settings, public=IRIS_PUBLIC)
    dp, per_epoch = gan.info["dp"], gan.info["steps_per_epoch"]
    assert 1 <= dp["planned_epochs"] < 100_000
    assert dp["planned_steps"] == dp["planned_epochs"] * per_epoch
    assert dp["timing"]["seconds_per_step"] > 0 and dp["timing"]["on"] == "generated rows"
    assert dp["epochs_run"] == gan.info["epochs_run"] <= dp["planned_epochs"]
    assert dp["steps"] == dp["epochs_run"] * per_epoch
    assert dp["epsilon"] <= 1.0 + 1e-6
    # The noise multiplier is the one that spends DP-SGD's share over the planned steps.
    planned = plan(
        DPRequest(epsilon=dp["epsilon_sgd_target"], delta=dp["delta_sgd"]),
        n_rows=gan.info["train_rows"],
        batch=gan.info["batch_size"],
        steps=dp["planned_steps"],
    )
    assert dp["noise_multiplier"] == pytest.approx(planned["noise_multiplier"])
    if gan.info["stopped"] == "epochs":  # the timing held: the whole ε was spent
        assert dp["epsilon_sgd"] > 0.95 * dp["epsilon_sgd_target"]
    # Planned for the cap instead, the same run would have spent a small part of it.
    capped = plan(
        DPRequest(epsilon=dp["epsilon_sgd_target"], delta=dp["delta_sgd"]),
        n_rows=gan.info["train_rows"],
        batch=gan.info["batch_size"],
        steps=100_000 * per_epoch,
    )
    assert capped["noise_multiplier"] > 2 * dp["noise_multiplier"]


def test_a_budget_that_runs_out_before_the_plan_spends_less() -> None:
    """Epochs slower than timed (here a cancellation poll that takes 1 s): the budget stops
    the run before its planned epochs, and it spends less than asked. The budget leaves room
    for several planned epochs even on a loaded machine, where the set-up eats into it."""
    table, _ = load("iris")

    def slow_poll() -> bool:
        time.sleep(1.0)
        return False

    settings = GanSettings(epochs=100_000, time_budget_s=6.0, dp={"epsilon": 1.0})
    gan = train(
        table, target="species", seed=0, settings=settings, should_stop=slow_poll,
        public=IRIS_PUBLIC,
    )  # fmt: skip
    dp = gan.info["dp"]
    assert gan.info["stopped"] == "time_budget"
    assert dp["epochs_run"] < dp["planned_epochs"]
    assert dp["steps"] < dp["planned_steps"]
    assert dp["epsilon"] < 1.0


def test_epochs_for_a_budget() -> None:
    fit = {"seconds_per_step": 0.01, "steps_per_epoch": 10}
    assert epochs_for_budget(cap=1000, seconds_left=10.0, **fit) == 90  # 0.9 of the time
    assert epochs_for_budget(cap=50, seconds_left=10.0, **fit) == 50
    assert epochs_for_budget(cap=50, seconds_left=-1.0, **fit) == 1


def test_run_records_dp_in_provenance_and_never_falls_back_to_the_copula() -> None:
    rows, schema = mixed_rows(400)
    # What a careful owner declares: the codes' values and income's range (ε then buys only
    # the counts and the join dates' range).
    columns = {c["name"]: c for c in schema["columns"]}
    columns["code"] = {"name": "code", "type": "category", "required": True}
    columns["code"]["allowed"] = ["X-0", "X-1", "X-2", "X-3"]
    columns["income"] = {**columns["income"], "min": 0, "max": 100_000}
    schema = {**schema, "columns": list(columns.values())}
    settings = GanSettings(epochs=1, dp={"epsilon": 4.0, "delta": 1e-6})
    progress: list[dict] = []  # type: ignore[type-arg]
    result = synthesize(
        rows, n_rows=40, seed=0, schema=schema, gan_settings=settings, on_progress=progress.append
    )
    assert result.provenance["dp"]["epsilon"] <= 4.0 + 1e-6
    assert result.provenance["dp"]["delta"] == 1e-6
    # The owner sees what the accountant covers: no real-row loss, no real-row figures.
    epochs = [p for p in progress if "epoch" in p]
    assert epochs and all(p["loss_critic"] is None for p in epochs)
    assert list(result.report["generators"]) == ["gan"]
    gan = result.report["generators"]["gan"]
    assert "quality" not in gan and "privacy" not in gan and "withheld" in gan
    assert "opacus" in result.provenance["versions"]
    # A hash of the input is a membership test: a DP job does not publish it.
    assert result.provenance["input_sha256"] is None
    assert result.publish != "copula"
    assert "no copula baseline is fitted" in result.report["recommendation"]["reason"]


@pytest.mark.parametrize(
    ("dp", "method", "message"),
    [
        ({"epsilon": 0}, "gan", r"dp: epsilon must be in \(0, 100\]"),
        ({"epsilon": 1, "delta": 1}, "gan", r"dp: delta must be in \(0, 1\)"),
        ({"delta": 1e-5}, "gan", "dp: epsilon is required"),
        ({"epsilon": 1, "sigma": 2}, "gan", "dp: unknown keys sigma"),
        ({"epsilon": 1}, "copula", "differential privacy is only available with method gan"),
    ],
)
def test_bad_dp_requests_are_refused(dp: dict, method: str, message: str) -> None:  # type: ignore[type-arg]
    rows, schema = mixed_rows(40)
    with pytest.raises(InputError, match=message):
        synthesize(
            rows,
            n_rows=5,
            seed=0,
            schema=schema,
            method=method,
            gan_settings=GanSettings(epochs=1, dp=dp),
        )


def test_budget_rule() -> None:
    check_budget(spent=2.0, requested=1.0, budget=3.0)  # exactly at the budget is fine
    with pytest.raises(BudgetExceeded) as refused:
        check_budget(spent=2.5, requested=1.0, budget=3.0)
    assert str(refused.value) == (
        "ε=1 would exceed the dataset's privacy budget: ε=2.5 of 3 is already spent, 0.5 is left"
    )
    with pytest.raises(BudgetExceeded, match="must be above 0"):
        check_budget(spent=0.0, requested=0.0, budget=3.0)
    assert remaining_budget(spent=4.0, budget=3.0) == 0.0
    assert DPRequest.from_dict({"epsilon": 3}).delta == 1e-5
    with pytest.raises(DPSettingsError):
        DPRequest(epsilon=float("nan")).check()


def test_dp_noise_is_not_reproducible_from_the_seed() -> None:
    """The attack: the seed is public (provenance, console default 0). With seeded noise,
    retraining on the same rows with the same seed reproduces the published checkpoint bit for
    bit, and retraining without one row does not: that tells which rows were used. The DP noise
    and the Poisson sample must come from a source no stored value reproduces."""
    table, _ = load("iris")
    dp = GanSettings(epochs=2, dp={"epsilon": 2.0})
    first = train(table, target="species", seed=0, settings=dp, public=IRIS_PUBLIC)
    second = train(table, target="species", seed=0, settings=dp, public=IRIS_PUBLIC)
    assert first.to_bytes() != second.to_bytes()
    assert first.info["dp"]["noise_reproducible_from_seed"] is False
    assert "os.urandom" in first.info["dp"]["noise_source"]
    # Without DP the seed still governs everything: byte for byte.
    plain = GanSettings(epochs=2)
    assert (
        train(table, target="species", seed=0, settings=plain).to_bytes()
        == train(table, target="species", seed=0, settings=plain).to_bytes()
    )


def test_secure_noise_has_the_asked_spread() -> None:
    import torch

    from synthetic.gan.secure_random import secure_normal, secure_uniform

    noise = secure_normal((200, 100), 3.0, torch.float32)
    assert noise.shape == (200, 100) and noise.dtype == torch.float32
    assert abs(float(noise.mean())) < 0.1 and 2.9 < float(noise.std()) < 3.1
    uniform = secure_uniform(10_000)
    assert uniform.min() > 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.02


def test_a_dp_generator_emits_no_singleton_category() -> None:
    """The attack: a DP job on a table where most cities occur once. If the category list
    comes from the rows outside the accountant, the generator emits the singletons (each one
    reveals a real row's city). Rare categories must be suppressed by noisy counts."""
    import numpy as np

    from synthetic.infer import parse_rows

    rng = np.random.default_rng(3)
    cities = ["Lyon"] * 300 + ["Paris"] * 300 + [f"town-{i}" for i in range(150)]
    rows = [{"city": c, "amount": str(int(rng.integers(0, 100)))} for c in cities]
    schema = {
        "columns": [
            {"name": "city", "type": "category", "required": True},
            {"name": "amount", "type": "int", "required": True, "min": 0, "max": 99},
        ]
    }
    table = parse_rows(rows, schema)
    settings = GanSettings(epochs=1, dp={"epsilon": 2.0})
    gan = train(
        table, target=None, seed=0, settings=settings, public={"amount": {"min": 0, "max": 99}}
    )
    assert set(gan.encoder.columns["city"]["categories"]) == {"Lyon", "Paris"}
    emitted = set(gan.sample(2000, np.random.default_rng(0))["city"].tolist())
    assert not {c for c in emitted if c.startswith("town-")}
    assert "suppressed" in gan.info["dp"]["statistics"]["columns"]["city"]
    # The numeric column's knots come from a noisy histogram over the declared range.
    assert gan.info["dp"]["statistics"]["columns"]["amount"].startswith("declared range")


def test_a_table_too_small_for_its_epsilon_is_refused_with_what_to_declare() -> None:
    rows, schema = mixed_rows(60)
    with pytest.raises(InputError, match="declare"):
        synthesize(
            rows,
            n_rows=10,
            seed=0,
            schema=schema,
            gan_settings=GanSettings(epochs=1, dp={"epsilon": 0.5}),
        )


def test_an_inferred_schema_is_not_taken_as_public() -> None:
    """An inferred schema lists every category seen (singletons included): a DP job must
    count them with noise like any undeclared category, not take the list as given."""
    rows = [{"city": "Lyon" if i % 2 else "Paris", "n": str(i % 7)} for i in range(600)]
    rows += [{"city": f"town-{i}", "n": "3"} for i in range(60)]
    settings = GanSettings(epochs=1, dp={"epsilon": 4.0})
    result = synthesize(rows, n_rows=200, seed=0, gan_settings=settings)
    assert result.report["schema_inferred"] is True
    assert "suppressed" in result.provenance["dp"]["statistics"]["columns"]["city"]
    assert not {r["city"] for r in result.rows if r["city"] and r["city"].startswith("town-")}
