"""A time-budget run records the epochs it took and repeats byte for byte from its provenance;
under a time budget, validation (snapshot selection, early stopping) runs on its own cadence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from synthetic import sample_tables
from synthetic.gan.settings import BUDGET_VALIDATE_EVERY, validate_every
from synthetic.gan.train import train
from synthetic.infer import parse_rows
from synthetic.synthesize import GanSettings, InputError, replay_arguments
from tests.synthetic.helpers import mixed_rows
from tests.synthetic.test_run import write_csv


def test_the_validation_cadence_under_a_time_budget_ignores_the_nominal_epoch_cap() -> None:
    assert validate_every(GanSettings(epochs=100_000, time_budget_s=5)) == BUDGET_VALIDATE_EVERY
    assert validate_every(GanSettings(epochs=300, time_budget_s=5)) == BUDGET_VALIDATE_EVERY
    assert validate_every(GanSettings(epochs=300, evaluations=30)) == 10
    assert validate_every(GanSettings(epochs=100_000, time_budget_s=5, validate_every=3)) == 3


def test_early_stopping_and_snapshot_selection_run_under_a_time_budget() -> None:
    rows, schema = mixed_rows(40)
    table = parse_rows(rows, schema)
    events = []
    # A budget far above what the run needs: only early stopping can end it.
    settings = GanSettings(epochs=100_000, time_budget_s=600, validate_every=2, patience=2)
    gan = train(table, target="grade", seed=0, settings=settings, progress=events.append)
    info = gan.info
    assert info["stopped"] == "no_improvement"
    assert info["epochs_run"] < 100_000 and info["validations"] >= 3
    scored = [e.epoch for e in events if e.score is not None]
    assert scored == list(range(2, info["epochs_run"] + 1, 2))
    assert info["best_epoch"] in scored and info["best_score"] > 0


def test_a_time_budget_run_records_its_epochs_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    rows, schema = mixed_rows(60)
    source = write_csv(tmp_path / "mixed.csv", rows)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    first, second, report = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "report.json"
    common = [str(source), "--schema", str(tmp_path / "schema.json")]
    call_command(
        "synthesize",
        *common,
        "--rows", "40", "--seed", "5", "--output", str(first), "--report", str(report),
        "--time-budget", "1.5",
    )  # fmt: skip
    provenance = json.loads(report.read_text())["provenance"]
    training = provenance["training"]
    assert provenance["settings"]["time_budget_s"] == 1.5
    assert training["epochs_run"] >= 1 and training["validate_every"] == BUDGET_VALIDATE_EVERY
    assert training["stopped"] in ("time_budget", "no_improvement")
    assert training["validations"] >= 1  # at least the snapshot at the end of the budget
    again = tmp_path / "again.json"
    call_command(
        "synthesize", *common, "--output", str(second), "--from-provenance", str(report),
        "--report", str(again),
    )  # fmt: skip
    assert second.read_bytes() == first.read_bytes()
    repeated = json.loads(again.read_text())["provenance"]
    assert repeated["training"]["epochs_run"] == training["epochs_run"]
    assert repeated["settings"]["time_budget_s"] is None
    assert repeated["output_sha256"] == provenance["output_sha256"]


def test_a_repeat_refuses_other_rows_other_options_and_dp_runs(tmp_path: Path) -> None:
    rows, _ = mixed_rows(60)
    report = tmp_path / "report.json"
    source = write_csv(tmp_path / "mixed.csv", rows)
    call_command(
        "synthesize", str(source), "--rows", "20", "--seed", "1", "--method", "copula",
        "--output", str(tmp_path / "a.csv"), "--report", str(report),
    )  # fmt: skip
    other = write_csv(tmp_path / "other.csv", rows[:-1])
    with pytest.raises(CommandError, match="not those the provenance was made from"):
        call_command(
            "synthesize", str(other), "--output", str(tmp_path / "b.csv"),
            "--from-provenance", str(report),
        )  # fmt: skip
    with pytest.raises(CommandError, match="do not also give --seed, --condition"):
        call_command(
            "synthesize", str(source), "--output", str(tmp_path / "b.csv"), "--seed", "2",
            "--condition", "grade=A", "--from-provenance", str(report),
        )  # fmt: skip
    with pytest.raises(CommandError, match="--rows is required"):
        call_command("synthesize", str(source), "--output", str(tmp_path / "b.csv"))
    recorded = json.loads(report.read_text())
    recorded["provenance"]["method"] = "gan"
    recorded["provenance"]["settings"] = {"dp": {"epsilon": 1.0, "delta": 1e-5}}
    with pytest.raises(InputError, match="a DP run cannot be repeated"):
        replay_arguments(recorded)
    with pytest.raises(InputError, match="not a synthesis provenance"):
        replay_arguments({"seed": 1})


def test_a_time_budget_validates_every_ten_epochs_by_default() -> None:
    rows, schema = mixed_rows(40)
    table = parse_rows(rows, schema)
    events = []
    # The budget never runs out here: early stopping (patience 1) ends the run.
    settings = GanSettings(epochs=100_000, time_budget_s=600, patience=1)
    gan = train(table, target="grade", seed=1, settings=settings, progress=events.append)
    assert gan.info["stopped"] == "no_improvement"
    assert gan.info["validate_every"] == BUDGET_VALIDATE_EVERY
    scored = [e.epoch for e in events if e.score is not None]
    assert scored == list(range(10, gan.info["epochs_run"] + 1, 10)) and len(scored) >= 2


def test_the_cli_runs_auto_prints_the_choice_and_repeats_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows, schema = sample_tables.wine_binned()
    source = write_csv(tmp_path / "wine.csv", rows)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    first, second, report = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "report.json"
    common = [str(source), "--schema", str(tmp_path / "schema.json")]
    call_command(
        "synthesize", *common, "--rows", "100", "--seed", "0", "--method", "auto",
        "--epochs", "8", "--output", str(first), "--report", str(report),
    )  # fmt: skip
    printed = capsys.readouterr().out
    recorded = json.loads(report.read_text())
    winner = recorded["choice"]["winner"]
    assert winner is not None
    assert "auto: only candidates that pass the gate" in printed
    assert f". {winner} won: passes the gate with TSTR/TRTR" in printed
    for name in ("copula", "gan", "tvae"):
        assert f"{name}: quality " in printed
    assert recorded["provenance"]["tvae_settings"]["epochs"] == 8
    call_command(
        "synthesize", *common, "--output", str(second), "--from-provenance", str(report),
    )  # fmt: skip
    assert second.read_bytes() == first.read_bytes()
