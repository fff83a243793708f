"""TVAE: it fits and samples every column type, determinism, checkpoints (no real values),
progress, cancellation, the time budget."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import checkpoint
from synthetic.checkpoint import CheckpointError
from synthetic.gan.train import Cancelled
from synthetic.stored_model import load_model
from synthetic.tvae.model import TabularVAE
from synthetic.tvae.train import TvaeSettings, train
from tests.synthetic.helpers import load
from tests.synthetic.test_gan import _knots

TINY = TvaeSettings(epochs=6)


@pytest.fixture(scope="module")
def mixed():  # type: ignore[no-untyped-def]
    table, schema = load("mixed")
    return table, schema


@pytest.fixture(scope="module")
def fitted(mixed):  # type: ignore[no-untyped-def]
    table, _ = mixed
    return train(table, seed=5, settings=TvaeSettings(epochs=40))


def test_sampled_rows_have_every_column_in_its_type_and_set(mixed, fitted) -> None:  # type: ignore[no-untyped-def]
    table, schema = mixed
    rows = fitted.sample(500, np.random.default_rng(0))
    assert rows.n_rows == 500 and rows.names == table.names
    assert [s.type for s in rows.specs] == [s.type for s in table.specs]
    allowed = {c["name"]: c.get("allowed") for c in schema["columns"]}
    assert set(rows["grade"].tolist()) <= set(allowed["grade"])
    assert set(rows["code"].tolist()) <= set(table["code"].tolist())
    assert set(rows["member"].tolist()) <= {True, False}
    for name in ("age", "score", "joined"):
        column = rows[name]
        assert column.dtype == float and not np.isnan(column).any(), name
        assert column.min() >= table[name].min() and column.max() <= table[name].max(), name
    assert np.all(rows["age"] == np.round(rows["age"]))  # ints stay whole
    assert np.all(rows["joined"] % 86_400 == 0)  # dates stay whole days
    # The model learns which rows miss income (a present/missing block) ...
    real_rate = np.isnan(table["income"]).mean()
    assert abs(np.isnan(rows["income"]).mean() - real_rate) < 0.1
    # ... and the categories' frequencies.
    for grade in "ABC":
        real = np.mean(table["grade"] == grade)
        assert abs(np.mean(rows["grade"] == grade) - real) < 0.1, grade


def test_same_seed_same_model_and_rows(mixed) -> None:  # type: ignore[no-untyped-def]
    table, _ = mixed
    first = train(table, seed=5, settings=TINY)
    second = train(table, seed=5, settings=TINY)
    assert first.to_bytes() == second.to_bytes()
    rows = first.sample(50, np.random.default_rng(1)).records()
    assert rows == second.sample(50, np.random.default_rng(1)).records()
    assert first.sample(50, np.random.default_rng(2)).records() != rows
    other = train(table, seed=6, settings=TINY)
    assert other.sample(50, np.random.default_rng(1)).records() != rows


def test_checkpoint_round_trip_and_no_training_value(mixed, fitted) -> None:  # type: ignore[no-untyped-def]
    table, _ = mixed
    data = fitted.to_bytes()
    loaded = load_model(data)
    assert isinstance(loaded, TabularVAE) and loaded.to_bytes() == data
    assert loaded.info == fitted.info
    expected = fitted.sample(40, np.random.default_rng(9)).records()
    assert loaded.sample(40, np.random.default_rng(9)).records() == expected
    with pytest.raises(CheckpointError, match="not a TVAE checkpoint"):
        TabularVAE.from_bytes(checkpoint.pack({"format": "datadao-synthetic-copula/1"}))
    # Only the decoder is published (the encoder network reads rows; sampling needs none of
    # it), and the quantile knots are smoothed: no knot is a training value.
    meta, arrays = checkpoint.unpack(data)
    assert arrays and all(name.startswith("decoder.") for name in arrays)
    # The calibration is in the checkpoint (a bias per category, knots per score).
    assert meta["calibration"]["logits"] and meta["calibration"]["scores"]
    for name in ("score", "income"):
        real = set(table[name][~np.isnan(table[name])].tolist())
        knots = _knots(meta, name)
        assert len(knots) > 50 and not real & set(knots), name


def test_progress_cancel_and_time_budget(mixed) -> None:  # type: ignore[no-untyped-def]
    table, _ = mixed
    events: list[dict] = []  # type: ignore[type-arg]
    model = train(table, seed=2, settings=TINY, progress=events.append)
    assert [e["epoch"] for e in events] == list(range(1, 7))
    assert events[-1]["eta_s"] == 0 and all(np.isfinite(e["loss"]) for e in events)
    assert model.info["epochs_run"] == 6 and model.info["stopped"] == "epochs"
    calls = []

    def stop_at_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled, match="cancelled at epoch 3 of 6"):
        train(table, seed=2, settings=TINY, should_stop=stop_at_third)
    budget = train(table, seed=0, settings=TvaeSettings(epochs=100_000, time_budget_s=0.3))
    assert budget.info["stopped"] == "time_budget" and budget.info["epochs_run"] < 100_000
