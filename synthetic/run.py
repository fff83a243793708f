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
from dataclasses import asdict, dataclass, replace
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
from .table_constraints import (
    ConstraintSet,
    Fixed,
    condition_mask,
    infer_inequalities,
    parse_conditions,
    parse_constraints,
)

METHODS = ("gan", "copula")
# Rows kept out of training, to measure fidelity on rows the generator never saw.
HOLDOUT_FRACTION = 0.35
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
    "replay_arguments",
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
    constraints: Sequence[str] = (),
    conditions: Sequence[str] | dict[str, Any] = (),
    infer_constraints: bool = True,
    require: dict[str, str] | None = None,
) -> SynthesisResult:
    """Synthesize ``n_rows`` rows like the CSV ``rows``; ``InputError`` says what is wrong.

    Deterministic on CPU: the same rows, schema, settings and seed give the same output rows,
    report and checkpoint bytes. ``method="gan"`` also fits the copula baseline for the report;
    the copula's rows are those ``method="copula"`` returns with the same seed.

    ``constraints`` (with the schema's ``"constraints"``; syntax in ``table_constraints``) hold
    in every output row, as do inequalities that hold in every training row (inferred unless
    ``infer_constraints`` is off or the job is DP). ``conditions`` (``column=value``) make the
    output rows all of that subgroup; the gate still judges an unconditioned sample. ``require``
    (``input_sha256``, ``schema_sha256`` from a provenance) refuses any other input.
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
    declared = parse_constraints([*(schema.get("constraints") or []), *constraints])
    wanted = parse_conditions(conditions, schema)
    if n_rows * len(schema["columns"]) > MAX_OUTPUT_CELLS:
        raise InputError(
            f"{n_rows} rows of {len(schema['columns'])} columns is more than "
            f"{MAX_OUTPUT_CELLS:,} cells; ask for fewer rows"
        )
    table = parse_rows(rows, schema)
    if table.n_rows < MIN_ROWS:
        raise InputError(f"the table has {table.n_rows} rows; at least {MIN_ROWS} are needed")
    input_sha256 = _sha256_json(table.records())
    _refuse_other_input(require, input_sha256, _sha256_json(schema))
    _refuse_identifiers(table)
    private = settings.dp is not None
    rules = ConstraintSet(declared, table.specs)
    if private and any(isinstance(c, Fixed) for c in declared):
        raise InputError(
            "a fixed combination keeps the combinations seen in the real rows, which a DP job "
            "cannot read outside its privacy accountant; declare it without DP"
        )
    if not private:
        # DP: checking the rows against the constraints would be a query outside ε.
        rules.refuse_violations(table)
    train_idx, holdout_idx = train_holdout_split(
        table, holdout_fraction=holdout_fraction, seed=seed, target=target
    )
    if len(train_idx) < MIN_TRAIN_ROWS or len(holdout_idx) == 0:
        raise InputError(f"hold-out fraction {holdout_fraction} leaves too few training rows")
    train_rows, holdout = table.take(train_idx), table.take(holdout_idx)
    notify = on_progress or (lambda event: None)
    checker = RowChecker(schema)
    found = []
    if infer_constraints and not private:
        found = infer_inequalities(train_rows, skip={target} if target else set(), known=declared)
    rules = ConstraintSet([*declared, *found], table.specs)
    if not private:
        # Inferred inequalities are met by dropping the rows that break them, never built into
        # the model: modelling b - a changes the model, and the data did not ask for that.
        rules.fit(train_rows, target=target, checked_only=found)
        if wanted and not condition_mask(train_rows, wanted).any():
            raise InputError(
                f"no training row has {' and '.join(c.text for c in wanted)}: the model "
                "cannot generate that subgroup"
            )
    model_rows = rules.forward(train_rows)
    check_rules = rules.problems if rules.constraints else None
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
                    model_rows,
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
            if rules.constraints:
                model.info["constraints"] = rules.fitted_state()
            model_bytes, model_info = model.to_bytes(), dict(model.info)
        else:
            model = GaussianCopula().fit(model_rows, target=target)
            state = model.state()
            if rules.constraints:
                state["constraints"] = rules.fitted_state()
            model_bytes, model_info = checkpoint.pack(state), {}
        want = n_rows if name == method and not wanted else min(n_rows, EVAL_MAX_ROWS)
        notify({"stage": f"sample_{name}", "rows": want})

        def draw(k: int, r: np.random.Generator, model: Any = model) -> Table:
            return rules.reverse(model.sample(k, r))

        synthetic, stats = sample_valid(
            draw,
            want,
            rng=rng,
            checker=checker,
            forbidden=training_keys,
            drop_forbidden=not private,
            rules=check_rules,
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
        if wanted and name == method:
            notify({"stage": f"sample_{name}_subgroup", "rows": n_rows})
            synthetic = _sample_subgroup(
                model,
                rules,
                wanted,
                n_rows,
                np.random.default_rng([seed, METHODS.index(name), 1]),
                checker=checker,
                forbidden=training_keys,
                drop_forbidden=not private,
            )
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
        input_sha256,
    )
    provenance["rows"] = n_rows
    # A repeat of this run (``replay_arguments``) can be checked against it.
    provenance["output_sha256"] = _sha256_json(synthetic.records())
    provenance["target"] = target
    provenance["constraints"] = {
        "declared": [c.text for c in declared],
        "inferred": [c.text for c in found],
        "infer": infer_constraints,
    }
    provenance["conditions"] = [c.text for c in wanted]
    if "gan" in outputs:
        info = outputs["gan"][2]
        provenance["training"] = {
            k: info.get(k)
            for k in ("epochs_run", "stopped", "best_epoch", "validate_every", "validations")
        }
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
        "constraints": {**rules.state(), "inferred": [c.text for c in found]},
        "conditions": [c.text for c in wanted],
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


def _refuse_other_input(
    require: dict[str, str] | None, input_sha256: str, schema_sha256: str
) -> None:
    """A repeat of a recorded run must start from the same rows and schema."""
    if not require:
        return
    if require.get("input_sha256") and require["input_sha256"] != input_sha256:
        raise InputError(
            "the input rows are not those the provenance was made from (their hash differs)"
        )
    if require.get("schema_sha256") and require["schema_sha256"] != schema_sha256:
        raise InputError(
            "the schema is not the one the provenance was made from (its hash differs): give "
            "the same --schema and --target"
        )


def _sample_subgroup(
    model: Any,
    rules: ConstraintSet,
    wanted: list[Any],
    n_rows: int,
    rng: np.random.Generator,
    **checks: Any,
) -> Table:
    """``n_rows`` rows of the subgroup ``wanted`` describes. The GAN conditions its generator
    on one discrete column directly; anything else is drawn and filtered (bounded)."""
    given = None
    modelled = set(rules.forward_columns())
    if len(wanted) == 1 and wanted[0].column not in modelled and hasattr(model, "condition_for"):
        given = model.condition_for(wanted[0].column, wanted[0].value)

    def draw(k: int, r: np.random.Generator) -> Table:
        sample = model.sample_given(k, r, given) if given is not None else model.sample(k, r)
        return rules.reverse(sample)

    synthetic, _ = sample_valid(
        draw,
        n_rows,
        rng=rng,
        rules=rules.problems if rules.constraints else None,
        subgroup=(
            " and ".join(c.text for c in wanted),
            lambda t: condition_mask(t, wanted),
        ),
        **checks,
    )
    return synthetic


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
    input_sha256: str,
) -> dict[str, Any]:
    import scipy
    import sklearn
    import torch

    return {
        "seed": seed,
        "method": method,
        "input_sha256": input_sha256,
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


def replay_arguments(recorded: dict[str, Any]) -> dict[str, Any]:
    """``synthesize``'s keyword arguments (all but the rows) that repeat the run a report or
    its provenance records, byte for byte: a time budget becomes the epochs the run actually
    took, with its validation cadence. The input rows and schema must hash as recorded."""
    provenance = recorded.get("provenance", recorded) if isinstance(recorded, dict) else None
    needed = ("seed", "method", "settings", "split", "rows")
    if not isinstance(provenance, dict) or any(k not in provenance for k in needed):
        raise InputError(
            "not a synthesis provenance (or report): it needs "
            + ", ".join(needed)
            + " (a provenance written before runs recorded them cannot be repeated)"
        )
    method = provenance["method"]
    settings = GanSettings()
    if method == "gan":
        settings = GanSettings.from_dict(provenance["settings"])
        if settings.dp is not None:
            raise InputError(
                "a DP run cannot be repeated: its noise comes from the operating system, not "
                "the seed (and a new run spends ε again)"
            )
        training = provenance.get("training") or {}
        if settings.time_budget_s is not None:
            if not training.get("epochs_run") or not training.get("validate_every"):
                raise InputError("the provenance does not record the epochs its run took")
            settings = replace(
                settings,
                epochs=int(training["epochs_run"]),
                time_budget_s=None,
                validate_every=int(training["validate_every"]),
            )
    constraints = provenance.get("constraints") or {}
    return {
        "n_rows": int(provenance["rows"]),
        "seed": int(provenance["seed"]),
        "method": method,
        "target": provenance.get("target"),
        "gan_settings": settings,
        "holdout_fraction": float(provenance["split"]["holdout_fraction"]),
        "constraints": list(constraints.get("declared", [])),
        "infer_constraints": bool(constraints.get("infer", True)),
        "conditions": list(provenance.get("conditions", [])),
        "require": {
            k: provenance[k] for k in ("input_sha256", "schema_sha256") if provenance.get(k)
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
    """More rows from a stored model, schema and the run's constraints enforced (the checkpoint
    carries them). The checkpoint holds no real rows, so copies are dropped only of the
    canonical ``real_rows`` passed in (none for a DP model)."""
    model = load_model(data)
    meta, _ = checkpoint.unpack(data)
    stored = (meta.get("info") or {}).get("constraints") or meta.get("constraints")
    rules = ConstraintSet.from_fitted_state(stored) if stored else None
    if rules is not None:
        specs = rules.specs
    else:
        specs = model.encoder.specs if hasattr(model, "encoder") else model.table_specs
    forbidden = set(Table.from_records(real_rows, specs).row_keys()) if real_rows else set()

    def draw(k: int, rng: np.random.Generator) -> Table:
        sample = model.sample(k, rng)
        return rules.reverse(sample) if rules is not None else sample

    synthetic, _ = sample_valid(
        draw,
        n_rows,
        rng=np.random.default_rng(seed),
        checker=RowChecker(schema),
        forbidden=forbidden,
        rules=rules.problems if rules is not None else None,
    )
    return synthetic.records()
