"""One synthesis run, from CSV rows to publishable rows and their report. Pure: no Django.

``synthesize`` is what the ``synthesize`` management command calls and what a Celery task
will call: split train/hold-out, fit the GAN and the copula baseline, sample rows that satisfy
the schema and copy no real row, evaluate both, gate both, and return everything the caller
stores (rows, report, checkpoint bytes, provenance). Progress goes to ``on_progress`` as small
JSON-able dicts; ``should_stop`` is polled every epoch and between stages.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import checkpoint
from .constraints import RowChecker, sample_valid
from .copula import GaussianCopula
from .dp import DPRequest, DPSettingsError
from .evaluate import evaluate
from .gan.dp_stats import DPStatsError
from .gan.train import Cancelled, GanSettings, Progress, train
from .gate import GatePolicy, GateResult, gate, recommend
from .infer import InputError, infer_schema, parse_rows
from .table import Table, train_holdout_split

METHODS = ("gan", "copula")
HOLDOUT_FRACTION = 0.35  # 369 of breast cancer's 569 rows train, as in issue #6
MIN_ROWS = 20
MIN_TRAIN_ROWS = 10
MAX_OUTPUT_ROWS = 1_000_000
# Rows are returned in memory: cap rows × columns (a streaming writer can lift this later).
MAX_OUTPUT_CELLS = 20_000_000
# The report evaluates at most this many output rows (a prefix: the output is shuffled).
EVAL_MAX_ROWS = 10_000

__all__ = [
    "Cancelled",
    "GanSettings",
    "InputError",
    "SynthesisResult",
    "load_model",
    "sample_from_checkpoint",
    "synthesize",
]


@dataclass(frozen=True)
class SynthesisResult:
    """What one run produces.

    ``rows`` are canonical JSON-native dicts (as the upload validator produces) from ``method``;
    ``checkpoint`` is that model's bytes (``load_model``); ``report`` holds both generators'
    evaluation and gate, the recommendation and the provenance; ``passed`` is ``method``'s gate.
    """

    method: str
    rows: list[dict[str, Any]]
    schema: dict[str, Any]
    report: dict[str, Any]
    checkpoint: bytes
    provenance: dict[str, Any]
    passed: bool
    publish: str | None  # "gan", "copula" or None: whose rows the gate allows to publish


def synthesize(
    rows: Sequence[dict[str, str | None]],
    *,
    n_rows: int,
    seed: int,
    schema: dict[str, Any] | None = None,
    target: str | None = None,
    method: str = "gan",
    gan_settings: GanSettings | None = None,
    policy: GatePolicy | None = None,
    holdout_fraction: float = HOLDOUT_FRACTION,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SynthesisResult:
    """Synthesize ``n_rows`` rows like the CSV ``rows``; ``InputError`` says what is wrong.

    Deterministic on CPU: the same rows, schema, settings and seed give the same output rows,
    report and checkpoint bytes. ``method="gan"`` also fits the copula baseline for the report;
    the copula's rows are those ``method="copula"`` returns with the same seed.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 1 <= n_rows <= MAX_OUTPUT_ROWS:
        raise InputError(f"rows to generate must be from 1 to {MAX_OUTPUT_ROWS}, not {n_rows}")
    settings = gan_settings or GanSettings()
    if settings.dp is not None:
        if method != "gan":
            raise InputError("differential privacy is only available with method gan")
        try:
            DPRequest.from_dict(settings.dp)
        except DPSettingsError as exc:
            raise InputError(str(exc)) from None
    schema, inferred = _schema(rows, schema, target)
    target = schema.get("target")
    if n_rows * len(schema["columns"]) > MAX_OUTPUT_CELLS:
        raise InputError(
            f"{n_rows} rows of {len(schema['columns'])} columns is more than "
            f"{MAX_OUTPUT_CELLS:,} cells; ask for fewer rows"
        )
    table = parse_rows(rows, schema)
    if table.n_rows < MIN_ROWS:
        raise InputError(f"the table has {table.n_rows} rows; at least {MIN_ROWS} are needed")
    _refuse_identifiers(table)
    train_idx, holdout_idx = train_holdout_split(
        table, holdout_fraction=holdout_fraction, seed=seed, target=target
    )
    if len(train_idx) < MIN_TRAIN_ROWS or len(holdout_idx) == 0:
        raise InputError(f"hold-out fraction {holdout_fraction} leaves too few training rows")
    train_rows, holdout = table.take(train_idx), table.take(holdout_idx)
    notify = on_progress or (lambda event: None)
    checker = RowChecker(schema)
    private = settings.dp is not None
    # Copies of training rows are counted before any is dropped (the gate judges the rate).
    # A DP job drops none: that filter would read the real rows outside the accountant. The
    # hold-out is never filtered against (its rows would then be measurably absent).
    training_keys = set(train_rows.row_keys())
    evaluated: dict[str, dict[str, Any]] = {}
    gates: dict[str, GateResult] = {}
    outputs: dict[str, tuple[Table, bytes, dict[str, Any]]] = {}

    # A DP job fits no copula: it would read the real rows outside the accountant.
    names = ("gan",) if private else ("copula", "gan") if method == "gan" else ("copula",)
    for name in names:
        _check_stop(should_stop, name)
        notify({"stage": f"fit_{name}"})
        rng = np.random.default_rng([seed, METHODS.index(name)])
        fit_start = time.monotonic()
        if name == "gan":
            try:
                model: Any = train(
                    train_rows,
                    target=target,
                    seed=seed,
                    settings=settings,
                    progress=lambda p: notify(_progress_event(p)),
                    should_stop=should_stop,
                    # An inferred schema was read off the rows: nothing in it is public.
                    public={} if inferred else public_columns(schema),
                )
            except DPStatsError as exc:
                raise InputError(str(exc)) from None
            model_bytes, model_info = model.to_bytes(), dict(model.info)
        else:
            model = GaussianCopula().fit(train_rows, target=target)
            model_bytes, model_info = checkpoint.pack(model.state()), {}
        want = n_rows if name == method else min(n_rows, EVAL_MAX_ROWS)
        notify({"stage": f"sample_{name}", "rows": want})
        synthetic, stats = sample_valid(
            model.sample,
            want,
            rng=rng,
            checker=checker,
            forbidden=training_keys,
            drop_forbidden=not private,
        )
        _check_stop(should_stop, name)
        notify({"stage": f"evaluate_{name}"})
        head = synthetic.take(np.arange(min(synthetic.n_rows, EVAL_MAX_ROWS)))
        report, result = evaluate_and_gate(
            train_rows,
            holdout,
            head,
            target=target,
            seed=seed,
            copies=(stats.copies, stats.drawn),
            policy=policy,
        )
        gates[name] = result
        evaluated[name] = {
            **report,
            "gate": result.to_dict(),
            "sampling": stats.to_dict(),
            "model": model_info,
            "seconds": round(time.monotonic() - fit_start, 3),
        }
        outputs[name] = (synthetic, model_bytes, model_info)

    # The copula is not differentially private: it cannot stand in for DP rows.
    advice = recommend(gates.get("gan"), gates.get("copula"))
    if private:
        advice["reason"] += " (the copula baseline is not differentially private)"
    synthetic, model_bytes, _ = outputs[method]
    provenance = _provenance(
        table,
        schema,
        seed,
        method,
        settings,
        holdout_fraction,
        train_rows.n_rows,
        holdout.n_rows,
        model_bytes,
    )
    if private:
        import opacus

        # A hash of the rows is a membership test (hash a candidate table, compare).
        provenance["input_sha256"] = None
        provenance["withheld"] = "the input's hash (a membership test, not covered by ε)"
        provenance["dp"] = outputs["gan"][2]["dp"]
        provenance["versions"]["opacus"] = opacus.__version__
    if private:
        evaluated = {"gan": _dp_view(evaluated["gan"])}
        advice["reason"] += "; no copula baseline is fitted for a DP job"
    report = {
        "method": method,
        "schema_inferred": inferred,
        "target": target,
        "generators": evaluated,
        "recommendation": advice,
        "provenance": provenance,
    }
    notify({"stage": "done"})
    return SynthesisResult(
        method=method,
        rows=synthetic.records(),
        schema=schema,
        report=report,
        checkpoint=model_bytes,
        provenance=provenance,
        passed=bool(evaluated[method]["gate"]["passed"]),
        publish=advice["publish"],
    )


def _schema(
    rows: Sequence[dict[str, str | None]], schema: dict[str, Any] | None, target: str | None
) -> tuple[dict[str, Any], bool]:
    from datadao.schema import validate_schema

    if not rows:
        raise InputError("the table has no rows")
    inferred = schema is None
    if schema is None:
        schema = infer_schema(rows)
    else:
        errors = validate_schema("tabular", schema)
        if errors:
            raise InputError("invalid schema: " + "; ".join(errors))
    schema = dict(schema)
    if target is not None:
        schema["target"] = target
    names = [c["name"] for c in schema["columns"]]
    if schema.get("target") is not None and schema["target"] not in names:
        raise InputError(
            f"unknown target column {schema['target']!r} (columns: {', '.join(names)})"
        )
    return schema, inferred


def _refuse_identifiers(table: Table) -> None:
    """Free-text columns unique per row (names, e-mails, IDs) would be copied verbatim."""
    for spec in table.specs:
        if spec.type != "string":
            continue
        values = [v for v in table[spec.name].tolist() if v is not None]
        if values and len(set(values)) > max(1, len(values) // 2):
            raise InputError(
                f"column {spec.name!r} is free text with {len(set(values))} distinct values in "
                f"{len(values)} rows (an identifier?): synthetic rows would copy real values; "
                "drop the column or declare it a category"
            )


def evaluate_and_gate(
    train: Table,
    holdout: Table,
    synthetic: Table,
    *,
    target: str | None,
    seed: int,
    copies: tuple[int, int] | None = None,
    policy: GatePolicy | None = None,
) -> tuple[dict[str, Any], GateResult]:
    """The evaluation and gate every job runs (and ``manage.py synthetic_gate`` on any file).
    ``copies``: what the sampler counted before dropping any; else counted in ``synthetic``."""
    report = evaluate(train, holdout, synthetic, target=target, seed=seed, copies=copies)
    return report, gate(report, policy)


def public_columns(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the schema declares about each column's values: public, so a DP job need not
    spend ε on it."""
    return {
        c["name"]: {k: c[k] for k in ("min", "max", "allowed", "required") if k in c}
        for c in schema["columns"]
    }


# What a DP job's owner sees of an evaluation: the figures are computed on real rows outside
# the accountant, so only the gate's verdict (one bit, documented as not covered) is shown.
DP_WITHHELD = (
    "computed on real rows outside the privacy accountant: withheld from a DP job's report "
    "(only the gate's verdict is shown)"
)


def _dp_view(entry: dict[str, Any]) -> dict[str, Any]:
    passed = bool(entry["gate"]["passed"])
    return {
        "gate": {
            "passed": passed,
            "checks": [
                {
                    "name": "gate",
                    "value": None,
                    "threshold": None,
                    "passed": passed,
                    "reason": f"the gate {'passed' if passed else 'failed'}; {DP_WITHHELD}",
                }
            ],
        },
        "withheld": DP_WITHHELD,
        "model": entry["model"],
        "seconds": entry["seconds"],
        "rows": {"synthetic": entry["rows"]["synthetic"]},
    }


def _check_stop(should_stop: Callable[[], bool] | None, stage: str) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled(f"cancelled before {stage}")


def _progress_event(progress: Progress) -> dict[str, Any]:
    return {"stage": "fit_gan", **asdict(progress)}


def _sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _provenance(
    table: Table,
    schema: dict[str, Any],
    seed: int,
    method: str,
    settings: GanSettings,
    holdout_fraction: float,
    n_train: int,
    n_holdout: int,
    model_bytes: bytes,
) -> dict[str, Any]:
    import scipy
    import sklearn
    import torch

    return {
        "seed": seed,
        "method": method,
        "input_sha256": _sha256_json(table.records()),
        "schema_sha256": _sha256_json(schema),
        "checkpoint_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "split": {"holdout_fraction": holdout_fraction, "train": n_train, "holdout": n_holdout},
        "settings": settings.to_dict() if method == "gan" else {"conditional": True},
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
        },
    }


def load_model(data: bytes) -> Any:
    """A fitted model (``TabularGAN`` or ``GaussianCopula``) from checkpoint bytes."""
    from .gan.sample import FORMAT as GAN_FORMAT
    from .gan.sample import TabularGAN

    meta, _ = checkpoint.unpack(data)
    if meta.get("format") == GAN_FORMAT:
        return TabularGAN.from_bytes(data)
    if meta.get("format") == "datadao-synthetic-copula/1":
        return GaussianCopula.from_state(meta)
    raise checkpoint.CheckpointError(f"unknown checkpoint format {meta.get('format')!r}")


def sample_from_checkpoint(
    data: bytes,
    *,
    n_rows: int,
    seed: int,
    schema: dict[str, Any],
    real_rows: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """More rows from a stored model, schema enforced. The checkpoint holds no real rows, so
    copies are dropped only of the canonical ``real_rows`` passed in (none for a DP model)."""
    model = load_model(data)
    specs = model.encoder.specs if hasattr(model, "encoder") else model.table_specs
    forbidden = set(Table.from_records(real_rows, specs).row_keys()) if real_rows else set()
    synthetic, _ = sample_valid(
        model.sample,
        n_rows,
        rng=np.random.default_rng(seed),
        checker=RowChecker(schema),
        forbidden=forbidden,
    )
    return synthetic.records()
