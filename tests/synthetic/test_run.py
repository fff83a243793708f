"""The run (what the CLI and a Celery job call) and the ``synthesize`` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from synthetic import sample_tables
from synthetic.constraints import RowChecker
from synthetic.gan.train import Cancelled, GanSettings
from synthetic.infer import InputError, parse_rows
from synthetic.stored_model import load_model, sample_from_checkpoint
from synthetic.synthesize import synthesize
from synthetic.table import train_holdout_split
from tests.synthetic.helpers import mixed_rows

FAST = GanSettings(epochs=8, evaluations=2)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def mixed_result():  # type: ignore[no-untyped-def]
    rows, schema = mixed_rows()
    events: list[dict[str, Any]] = []
    result = synthesize(
        rows, n_rows=300, seed=4, schema=schema, gan_settings=FAST, on_progress=events.append
    )
    return rows, schema, result, events


def test_rows_satisfy_the_schema_and_copy_nothing(mixed_result) -> None:  # type: ignore[no-untyped-def]
    _rows, schema, result, _ = mixed_result
    assert result.method == "gan" and len(result.rows) == 300
    checker = RowChecker(schema)
    assert [checker.problem(r) for r in result.rows] == [None] * 300
    for name in ("gan", "copula"):
        privacy = result.report["generators"][name]["privacy"]
        assert privacy["exact_copies"] == 0  # the published rows: copies were dropped
        # ... after being counted, so the gate judges the model's own copy rate.
        assert privacy["copies_counted"]["before_filtering"] is True
        assert privacy["copies_counted"]["rows"] >= 300
    assert result.report["schema_inferred"] is False
    assert result.report["target"] == "grade"


def test_report_provenance_and_progress(mixed_result) -> None:  # type: ignore[no-untyped-def]
    _, _, result, events = mixed_result
    report = result.report
    assert set(report["generators"]) == {"gan", "copula"}
    gan = report["generators"]["gan"]
    assert {c["name"] for c in gan["gate"]["checks"]} == {
        "quality",
        "utility",
        "copies",
        "share_closer_to_training",
    }
    assert result.passed == gan["gate"]["passed"]
    assert report["recommendation"]["publish"] == result.publish
    provenance = result.provenance
    assert provenance["seed"] == 4 and provenance["settings"]["epochs"] == 8
    assert set(provenance["versions"]) >= {"torch", "numpy", "scikit-learn"}
    assert provenance["split"] == {"holdout_fraction": 0.35, "train": 155, "holdout": 85}
    json.dumps(report)  # storable as it is
    stages = [e["stage"] for e in events]
    assert stages[0] == "fit_copula" and stages[-1] == "done"
    fit = [e for e in events if e["stage"] == "fit_gan" and "epoch" in e]
    assert [e["epoch"] for e in fit] == list(range(1, 9))
    assert "eta_s" in fit[0] and "loss_critic" in fit[0]


def test_same_seed_same_output_and_checkpoint(mixed_result) -> None:  # type: ignore[no-untyped-def]
    rows, schema, result, _ = mixed_result
    again = synthesize(rows, n_rows=300, seed=4, schema=schema, gan_settings=FAST)
    assert again.rows == result.rows
    assert again.checkpoint == result.checkpoint
    assert again.provenance == result.provenance


def test_checkpoint_samples_more_valid_rows(mixed_result) -> None:  # type: ignore[no-untyped-def]
    _rows, schema, result, _ = mixed_result
    model = load_model(result.checkpoint)
    assert model.info["epochs_run"] == 8
    more = sample_from_checkpoint(
        result.checkpoint, n_rows=50, seed=1, schema=schema, real_rows=result.rows[:10]
    )
    checker = RowChecker(schema)
    assert len(more) == 50 and all(checker.problem(r) is None for r in more)
    assert not {json.dumps(r, sort_keys=True) for r in more} & {
        json.dumps(r, sort_keys=True) for r in result.rows[:10]
    }


def test_copula_method_reproduces_the_reported_copula_rows() -> None:
    rows, schema = mixed_rows(120)
    copula = synthesize(rows, n_rows=80, seed=2, schema=schema, method="copula")
    assert set(copula.report["generators"]) == {"copula"}
    assert load_model(copula.checkpoint).sample(5, np.random.default_rng(0)).n_rows == 5
    assert copula.rows == synthesize(rows, n_rows=80, seed=2, schema=schema, method="copula").rows


def test_cancel_between_stages() -> None:
    rows, schema = mixed_rows(60)
    with pytest.raises(Cancelled, match="cancelled before copula"):
        synthesize(rows, n_rows=10, seed=0, schema=schema, should_stop=lambda: True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "nope"}, "unknown target column 'nope'"),
        ({"rows": mixed_rows(12)[0]}, "the table has 12 rows; at least 20 are needed"),
        ({"rows": []}, "the table has no rows"),
        ({"n_rows": 0}, "rows to generate must be from 1"),
        ({"method": "vae"}, "method must be one of gan, copula"),
        ({"schema": {"columns": []}}, "invalid schema: columns: must be a non-empty list"),
    ],
)
def test_refusals(change: dict[str, Any], message: str) -> None:
    rows, _ = mixed_rows(40)
    kwargs: dict[str, Any] = {"n_rows": 10, "seed": 0, "gan_settings": FAST, **change}
    with pytest.raises(InputError, match=message):
        synthesize(kwargs.pop("rows", rows), **kwargs)


def test_identifier_columns_are_refused() -> None:
    rows, _ = mixed_rows(60)
    for i, row in enumerate(rows):
        row["email"] = f"user{i}@example.org"
    with pytest.raises(InputError, match="column 'email' is free text with 60 distinct values"):
        synthesize(rows, n_rows=10, seed=0, method="copula")


def test_command_happy_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, _ = sample_tables.iris()
    source = write_csv(tmp_path / "iris.csv", rows)
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    call_command(
        "synthesize",
        str(source),
        "--rows",
        "120",
        "--seed",
        "3",
        "--output",
        str(out),
        "--report",
        str(report),
        "--target",
        "species",
        "--epochs",
        "10",
        "--checkpoint",
        str(tmp_path / "model.bin"),
    )
    printed = capsys.readouterr().out
    assert printed.startswith("copula: quality ")
    assert "gan: quality " in printed and "recommendation: " in printed
    assert f"wrote 120 rows to {out}" in printed
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 120 and list(written[0]) == list(rows[0])
    assert {r["species"] for r in written} <= {"setosa", "versicolor", "virginica"}
    assert json.loads(report.read_text())["schema_inferred"] is True
    assert (tmp_path / "model.bin").read_bytes()[:8] == b"DDSYNTH1"


def test_command_with_schema_and_time_budget(tmp_path: Path) -> None:
    rows, schema = mixed_rows(80)
    source = write_csv(tmp_path / "in.csv", rows)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    out = tmp_path / "out.csv"
    call_command(
        "synthesize",
        str(source),
        "--rows",
        "30",
        "--seed",
        "1",
        "--output",
        str(out),
        "--schema",
        str(tmp_path / "schema.json"),
        "--time-budget",
        "0.3",
    )
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 30
    assert all(r["member"] in ("true", "false") and r["code"].startswith("X-") for r in written)


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("", [], r"empty CSV \(no header row\)"),
        ("a,b\n", [], "the CSV has a header but no rows"),
        ("a,a\n1,2\n", [], "duplicate column names a"),
        ("a,b\n1,2,3\n", [], "line 2 has more cells than the header"),
        ("a,b\n" + "1,2\n" * 30, ["--target", "c"], "unknown target column 'c'"),
        ("a,b\n" + "1,2\n" * 5, [], "the table has 5 rows; at least 20 are needed"),
        ("a,b\n" + "1,2\n" * 30, ["--epochs", "0"], "--epochs must be at least 1"),
    ],
)
def test_command_refusals(tmp_path: Path, content: str, extra: list[str], message: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command(
            "synthesize",
            str(source),
            "--rows",
            "5",
            "--seed",
            "0",
            "--output",
            str(tmp_path / "out.csv"),
            *extra,
        )


def test_command_refuses_a_missing_file_and_a_bad_schema(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a readable file"):
        call_command(
            "synthesize",
            str(tmp_path / "nope.csv"),
            "--rows",
            "5",
            "--seed",
            "0",
            "--output",
            str(tmp_path / "out.csv"),
        )
    source = write_csv(tmp_path / "in.csv", mixed_rows(30)[0])
    (tmp_path / "schema.json").write_text("{not json")
    with pytest.raises(CommandError, match="cannot read the schema"):
        call_command(
            "synthesize",
            str(source),
            "--rows",
            "5",
            "--seed",
            "0",
            "--output",
            str(tmp_path / "out.csv"),
            "--schema",
            str(tmp_path / "schema.json"),
        )


def _gate_files(tmp_path: Path, synthetic_rows: Any) -> list[str]:
    """Breast cancer split 370/199, and SYNTH.csv made by ``synthetic_rows(train rows)``."""
    rows, _ = sample_tables.breast_cancer()
    order = np.random.default_rng(0).permutation(len(rows))
    train = [rows[i] for i in order[:370]]
    holdout = [rows[i] for i in order[370:]]
    paths = [
        write_csv(tmp_path / "train.csv", train),
        write_csv(tmp_path / "holdout.csv", holdout),
        write_csv(tmp_path / "synth.csv", synthetic_rows(train)),
    ]
    return [str(p) for p in paths]


def test_gate_command_fails_a_copy_of_the_training_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _gate_files(tmp_path, lambda train: list(train))
    report = tmp_path / "gate.json"
    with pytest.raises(SystemExit) as exited:
        call_command("synthetic_gate", *files, "--target", "target", "--report", str(report))
    assert exited.value.code == 1
    printed = capsys.readouterr().out
    assert "  FAIL copies: 100.0% of generated rows (370 of 370) copy a training row" in printed
    assert printed.rstrip().endswith("FAIL")
    assert json.loads(report.read_text())["gate"]["passed"] is False


def test_gate_command_fails_columns_resampled_on_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def shuffled(train: list[dict[str, str]]) -> list[dict[str, str]]:
        rng = np.random.default_rng(1)
        columns = {k: [r[k] for r in train] for k in train[0]}
        orders = {k: rng.permutation(len(train)) for k in columns}
        return [{k: columns[k][orders[k][i]] for k in columns} for i in range(len(train))]

    files = _gate_files(tmp_path, shuffled)
    with pytest.raises(SystemExit) as exited:
        call_command("synthetic_gate", *files)  # no target: the discriminator judges
    assert exited.value.code == 1
    printed = capsys.readouterr().out
    assert "  FAIL discriminator: a classifier tells synthetic from hold-out rows" in printed


def test_gate_command_passes_the_copula_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, schema = sample_tables.breast_cancer()
    result = synthesize(rows, n_rows=370, seed=0, schema=schema, method="copula")
    assert result.passed
    # The job's own split (seed 0) is what the copula trained on.
    table = parse_rows(rows, schema)
    train_idx, holdout_idx = train_holdout_split(
        table, holdout_fraction=0.35, seed=0, target="target"
    )
    paths = [
        write_csv(tmp_path / "train.csv", [rows[i] for i in train_idx]),
        write_csv(tmp_path / "holdout.csv", [rows[i] for i in holdout_idx]),
        write_csv(
            tmp_path / "synth.csv", [{k: _text(v) for k, v in r.items()} for r in result.rows]
        ),
    ]
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))
    call_command(
        "synthetic_gate", *map(str, paths), "--target", "target", "--schema", str(schema_path)
    )
    assert capsys.readouterr().out.rstrip().endswith("PASS")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_synthesize_command_takes_dp_epsilon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, schema = sample_tables.iris()
    for column in schema["columns"][:4]:
        column.update({"min": 0, "max": 10})
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))
    source, out, report = (
        write_csv(tmp_path / "iris.csv", rows),
        tmp_path / "o.csv",
        tmp_path / "r.json",
    )
    args = ["--rows", "30", "--seed", "0", "--output", str(out), "--epochs", "1"]
    call_command(
        "synthesize",
        str(source),
        *args,
        "--schema",
        str(schema_path),
        "--report",
        str(report),
        "--dp-epsilon",
        "8",
        "--dp-delta",
        "1e-6",
    )
    dp = json.loads(report.read_text())["provenance"]["dp"]
    assert dp["target_epsilon"] == 8 and dp["delta"] == 1e-6
    assert dp["noise_reproducible_from_seed"] is False
    assert "figures withheld" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--dp-delta needs --dp-epsilon"):
        call_command("synthesize", str(source), *args, "--dp-delta", "1e-6")
