"""Our GAN: determinism, checkpoints, progress, cancellation, budgets, missing values."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic.checkpoint import CheckpointError
from synthetic.gan.sample import TabularGAN
from synthetic.gan.settings import batch_for
from synthetic.gan.train import Cancelled, GanSettings, Progress, train
from synthetic.table import ColumnSpec, Table
from tests.synthetic.helpers import load

TINY = GanSettings(epochs=6, evaluations=3)


@pytest.fixture(scope="module")
def mixed():  # type: ignore[no-untyped-def]
    table, _ = load("mixed")
    return table


def test_same_seed_same_model_and_rows(mixed) -> None:  # type: ignore[no-untyped-def]
    first = train(mixed, target="grade", seed=5, settings=TINY)
    second = train(mixed, target="grade", seed=5, settings=TINY)
    assert first.to_bytes() == second.to_bytes()
    rows = first.sample(50, np.random.default_rng(1)).records()
    assert rows == second.sample(50, np.random.default_rng(1)).records()
    other = train(mixed, target="grade", seed=6, settings=TINY)
    assert other.sample(50, np.random.default_rng(1)).records() != rows


def test_checkpoint_round_trip_samples_the_same_rows(mixed) -> None:  # type: ignore[no-untyped-def]
    gan = train(mixed, target="grade", seed=1, settings=TINY)
    data = gan.to_bytes()
    loaded = TabularGAN.from_bytes(data)
    assert loaded.to_bytes() == data
    assert loaded.info == gan.info
    expected = gan.sample(40, np.random.default_rng(9)).records()
    assert loaded.sample(40, np.random.default_rng(9)).records() == expected
    with pytest.raises(CheckpointError, match="bad magic"):
        TabularGAN.from_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(CheckpointError, match="trailing bytes"):
        TabularGAN.from_bytes(data + b"\x00")


def test_progress_reports_every_epoch_with_an_eta(mixed) -> None:  # type: ignore[no-untyped-def]
    events: list[Progress] = []
    gan = train(mixed, target="grade", seed=2, settings=TINY, progress=events.append)
    assert [e.epoch for e in events] == list(range(1, 7))
    assert all(e.epochs == 6 and e.eta_s >= 0 for e in events)
    assert events[-1].eta_s == 0
    assert sum(e.score is not None for e in events) == 3
    assert events[-1].best_score == gan.info["best_score"]


def test_should_stop_cancels_and_its_exceptions_propagate(mixed) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def stop_at_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled, match="cancelled at epoch 3 of 6"):
        train(mixed, target="grade", seed=2, settings=TINY, should_stop=stop_at_third)

    class Revoked(Exception):
        pass

    def revoked() -> bool:
        raise Revoked

    with pytest.raises(Revoked):
        train(mixed, target="grade", seed=2, settings=TINY, should_stop=revoked)


def test_time_budget_ends_training_early(mixed) -> None:  # type: ignore[no-untyped-def]
    settings = GanSettings(epochs=100_000, time_budget_s=0.5)
    gan = train(mixed, target=None, seed=0, settings=settings)
    assert gan.info["stopped"] == "time_budget"
    assert gan.info["epochs_run"] < 1000


def test_missing_rate_and_ranges_are_reproduced(mixed) -> None:  # type: ignore[no-untyped-def]
    gan = train(mixed, target="grade", seed=0, settings=GanSettings(epochs=15, patience=0))
    synthetic = gan.sample(2000, np.random.default_rng(0))
    real_rate = np.isnan(mixed["income"]).mean()
    assert abs(np.isnan(synthetic["income"]).mean() - real_rate) < 0.1
    for name in ("age", "score", "joined"):
        assert np.nanmin(synthetic[name]) >= np.nanmin(mixed[name])
        assert np.nanmax(synthetic[name]) <= np.nanmax(mixed[name])
    # Conditioning on the target: classes come out at their real rates.
    real = {g: np.mean(mixed["grade"] == g) for g in "ABC"}
    for grade, rate in real.items():
        assert abs(np.mean(synthetic["grade"] == grade) - rate) < 0.05


def test_the_checkpoint_holds_no_training_value_of_a_continuous_column(mixed) -> None:  # type: ignore[no-untyped-def]
    """The attack: read the published checkpoint. Exact quantile knots are the training rows'
    values (below 1,000 rows, every one), and clipping to the exact min and max emits the
    extreme rows' values. Knots must be smoothed and the extremes never emitted."""
    from synthetic import checkpoint
    from synthetic.copula import GaussianCopula

    gan = train(mixed, target="grade", seed=1, settings=TINY)
    copula = GaussianCopula().fit(mixed, target="grade")
    for data in (gan.to_bytes(), checkpoint.pack(copula.state())):
        meta, _ = checkpoint.unpack(data)
        for name in ("score", "income"):
            real = set(mixed[name][~np.isnan(mixed[name])].tolist())
            knots = _knots(meta, name)
            assert len(knots) > 50 and not real & set(knots), name
    rows = gan.sample(5000, np.random.default_rng(0))
    for name in ("score", "income"):
        real, out = mixed[name], rows[name]
        assert np.nanmin(out) > np.nanmin(real) and np.nanmax(out) < np.nanmax(real), name


def _knots(state, name: str) -> list[float]:  # type: ignore[no-untyped-def]
    """Every quantile knot stored for column ``name``, wherever the checkpoint keeps it."""
    found: list[float] = []
    if isinstance(state, dict):
        for key, value in state.items():
            if key == name and isinstance(value, dict) and "quantile" in value:
                found += value["quantile"]["knots"]
            else:
                found += _knots(value, name)
    elif isinstance(state, list):
        for value in state:
            found += _knots(value, name)
    return found


def test_a_large_table_gets_larger_batches_not_more_steps() -> None:
    settings = GanSettings()
    assert batch_for(settings, 370) == 64  # a small table: the usual batch, 5 steps
    assert batch_for(settings, 97) == 24  # smaller still: 4 steps
    for rows in (1700, 3250, 100_000):
        batch = batch_for(settings, rows)
        assert batch % settings.pac == 0
        assert rows // batch <= settings.max_steps_per_epoch + 1


def test_a_many_level_column_is_no_condition_but_keeps_its_frequencies() -> None:
    """A 150-level column is left out of the conditional vector (which would otherwise be as
    wide as it for every row); the calibration still gives its categories their frequencies,
    and the checkpoint remembers which columns condition."""
    rng = np.random.default_rng(0)
    n = 1200
    weights = 1.0 / np.arange(1, 151)
    city = rng.choice(150, size=n, p=weights / weights.sum())
    grade = rng.choice(["a", "b"], size=n)
    table = Table(
        [ColumnSpec("city", "category"), ColumnSpec("grade", "category"), ColumnSpec("x", "float")],
        {
            "city": np.array([f"c{c}" for c in city], dtype=object),
            "grade": np.array(grade, dtype=object),
            "x": rng.normal(size=n) + (grade == "a"),
        },
    )
    gan = train(table, target=None, seed=0, settings=GanSettings(epochs=3, evaluations=1))
    assert [s.column for s in gan.conditions.spans] == ["grade"]
    assert gan.condition_for("city", "c0") is None and gan.condition_for("grade", "a")
    loaded = TabularGAN.from_bytes(gan.to_bytes())
    assert [s.column for s in loaded.conditions.spans] == ["grade"]
    out = loaded.sample(20_000, np.random.default_rng(1))
    for c in ("c0", "c1", "c9"):
        real, got = np.mean(table["city"] == c), np.mean(out["city"] == c)
        assert abs(got - real) < 0.25 * real, c
    every = GanSettings(epochs=1, evaluations=1, max_condition_levels=1000)
    wide = train(table, target=None, seed=0, settings=every)
    assert [s.column for s in wide.conditions.spans] == ["city", "grade"]
