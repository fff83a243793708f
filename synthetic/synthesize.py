"""One synthesis run, from CSV rows to publishable rows and their report. Pure: no Django.

``synthesize`` is what the ``synthesize`` management command and the Celery task call: split
train/hold-out, fit the candidate generators (``candidates``), sample rows that satisfy the
schema and copy no real row, evaluate and gate each on the same hold-out, pick whose rows may
be published (the one asked for, with the copula as the fallback; or, for ``auto``, the best
that passes: ``choice``), and return everything the caller stores (rows, report, checkpoint
bytes, provenance). Progress goes to ``on_progress`` as small JSON-able dicts; ``should_stop``
is polled every epoch and between stages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .candidates import (
    EVAL_MAX_ROWS,
    Candidate,
    Setup,
    check_stop,
    dp_view,
    draw,
    draw_subgroup,
    run_candidate,
    stream,
)
from .choice import choose
from .constraints import RowChecker
from .dp_request import DPRequest, DPSettingsError
from .gan.train import Cancelled, GanSettings
from .gate import GatePolicy, recommend
from .infer import InputError, infer_schema, parse_rows
from .provenance import provenance as make_provenance
from .provenance import replay_arguments, sha256_json
from .spelling import bool_spellings
from .table import Table, train_holdout_split
from .table_constraints import (
    ConstraintSet,
    Fixed,
    condition_mask,
    infer_inequalities,
    parse_conditions,
    parse_constraints,
)
from .tvae.settings import TvaeSettings

# What a job may ask for: one generator, or "auto" (every candidate; the best that passes).
METHODS = ("gan", "copula", "tvae", "auto")
# The generators each method fits: the copula is the baseline every report compares with.
CANDIDATES = {
    "gan": ("copula", "gan"),
    "copula": ("copula",),
    "tvae": ("copula", "tvae"),
    "auto": ("copula", "gan", "tvae"),
}
# Rows kept out of training, to measure fidelity on rows the generator never saw.
HOLDOUT_FRACTION = 0.35
MIN_ROWS = 20
MIN_TRAIN_ROWS = 10
MAX_OUTPUT_ROWS = 1_000_000
# Rows are returned in memory: cap rows × columns (a streaming writer can lift this later).
MAX_OUTPUT_CELLS = 20_000_000
DP_METHODS_REFUSAL = (
    "differential privacy is only available with method gan (TVAE and the copula have no "
    "privacy accountant, and auto would compare candidates on real rows outside it)"
)

__all__ = [
    "Cancelled",
    "GanSettings",
    "InputError",
    "SynthesisResult",
    "TvaeSettings",
    "replay_arguments",
    "synthesize",
]


@dataclass(frozen=True)
class SynthesisResult:
    """What one run produces.

    ``rows`` are canonical JSON-native dicts (as the upload validator produces) from the
    generator ``method`` ("gan", "copula" or "tvae": for a job that asked for "auto", the
    winner, or the best-ranked candidate when none passed); ``checkpoint`` is that model's
    bytes (``stored_model.load_model``); ``report`` holds every fitted generator's evaluation
    and gate, the recommendation (and for "auto" the choice) and the provenance; ``passed``
    is ``method``'s gate.
    """

    method: str
    rows: list[dict[str, Any]]
    schema: dict[str, Any]
    report: dict[str, Any]
    checkpoint: bytes
    provenance: dict[str, Any]
    passed: bool
    publish: str | None  # a generator's name or None: whose rows the gate allows to publish


def synthesize(
    rows: Sequence[dict[str, str | None]],
    *,
    n_rows: int,
    seed: int,
    schema: dict[str, Any] | None = None,
    target: str | None = None,
    method: str = "gan",
    gan_settings: GanSettings | None = None,
    tvae_settings: TvaeSettings | None = None,
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
    report and checkpoint bytes. ``method="gan"`` or ``"tvae"`` also fits the copula baseline
    for the report; ``"auto"`` fits all three and publishes the best that passes the gate. A
    generator's rows are the same whichever method fitted it, with the same seed.

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
    tvae = tvae_settings or TvaeSettings()
    if settings.dp is not None:
        if method != "gan":
            raise InputError(DP_METHODS_REFUSAL)
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
    input_sha256 = sha256_json(table.records())
    _refuse_other_input(require, input_sha256, sha256_json(schema))
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
    notify = on_progress or (lambda event: None)
    setup = Setup(
        train_rows=train_rows,
        model_rows=rules.forward(train_rows),
        holdout=holdout,
        target=target,
        seed=seed,
        gan_settings=settings,
        tvae_settings=tvae,
        # An inferred schema was read off the rows: nothing in it is public.
        public={} if inferred else public_columns(schema),
        rules=rules,
        checker=RowChecker(schema),
        # Copies of training rows are counted before any is dropped (the gate judges the
        # rate). A DP job drops none: that filter would read the real rows outside the
        # accountant. The hold-out is never filtered against (its rows would then be
        # measurably absent).
        forbidden=set(train_rows.row_keys()),
        private=private,
        policy=policy,
        notify=notify,
        should_stop=should_stop,
    )

    # A DP job fits no copula: it would read the real rows outside the accountant.
    names = ("gan",) if private else CANDIDATES[method]
    fitted: dict[str, Candidate] = {}
    for name in names:
        # The rows asked for come from the generator asked for; every other candidate draws
        # what its evaluation needs (for "auto", the winner draws again below if that is fewer).
        want = n_rows if name == method and not wanted else min(n_rows, EVAL_MAX_ROWS)
        fitted[name] = run_candidate(name, setup, want)
    gates = {name: c.result for name, c in fitted.items()}
    evaluated = {name: c.entry for name, c in fitted.items()}

    choice = None
    if method == "auto":
        choice = choose(evaluated, gates)
        chosen = choice["winner"] or choice["best"]
        advice = {"publish": choice["winner"], "reason": choice["reason"]}
    else:
        chosen = method
        advice = recommend(method, gates)
    if private:
        # The copula is not differentially private: it cannot stand in for DP rows.
        advice["reason"] += (
            " (the copula baseline is not differentially private); no copula baseline is "
            "fitted for a DP job"
        )
    winner = fitted[chosen]
    synthetic = winner.rows
    if wanted:
        notify({"stage": f"sample_{chosen}_subgroup", "rows": n_rows})
        synthetic = draw_subgroup(winner.model, setup, wanted, n_rows, stream(chosen, seed, 1))
    elif synthetic.n_rows != n_rows:
        # "auto" evaluated a sample of at most EVAL_MAX_ROWS: the rows asked for are the ones
        # the winner's own method would output (the same stream).
        notify({"stage": f"sample_{chosen}", "rows": n_rows})
        synthetic, _ = draw(winner.model, setup, n_rows, stream(chosen, seed))
    check_stop(should_stop, "the output")

    provenance = make_provenance(
        schema=schema,
        seed=seed,
        method=method,
        fitted=tuple(fitted),
        gan_settings=settings,
        tvae_settings=tvae,
        holdout_fraction=holdout_fraction,
        n_train=train_rows.n_rows,
        n_holdout=holdout.n_rows,
        model_bytes=winner.model_bytes,
        input_sha256=input_sha256,
    )
    provenance["rows"] = n_rows
    if method == "auto":
        provenance["generator"] = chosen
    # A repeat of this run (``replay_arguments``) can be checked against it.
    provenance["output_sha256"] = sha256_json(synthetic.records())
    provenance["target"] = target
    provenance["constraints"] = {
        "declared": [c.text for c in declared],
        "inferred": [c.text for c in found],
        "infer": infer_constraints,
    }
    provenance["conditions"] = [c.text for c in wanted]
    if "gan" in fitted:
        info = fitted["gan"].info
        provenance["training"] = {
            k: info.get(k)
            for k in ("epochs_run", "stopped", "best_epoch", "validate_every", "validations")
        }
    if "tvae" in fitted:
        info = fitted["tvae"].info
        provenance["tvae_training"] = {k: info.get(k) for k in ("epochs_run", "stopped")}
    if private:
        import opacus

        # A hash of the rows is a membership test (hash a candidate table, compare).
        provenance["input_sha256"] = None
        provenance["withheld"] = "the input's hash (a membership test, not covered by ε)"
        provenance["dp"] = fitted["gan"].info["dp"]
        provenance["versions"]["opacus"] = opacus.__version__
        evaluated = {"gan": dp_view(evaluated["gan"])}
    report = {
        "method": method,
        "schema_inferred": inferred,
        "target": target,
        "generators": evaluated,
        "recommendation": advice,
        "constraints": {**rules.state(), "inferred": [c.text for c in found]},
        "conditions": [c.text for c in wanted],
        # How the input spelled its bool columns, for writing the rows (a DP job reads nothing
        # from the rows outside its accountant: its bools are written true/false).
        "spellings": {} if private else bool_spellings(rows, schema),
        "provenance": provenance,
    }
    if choice is not None:
        report["choice"] = choice
    notify({"stage": "done"})
    return SynthesisResult(
        method=chosen,
        rows=synthetic.records(),
        schema=schema,
        report=report,
        checkpoint=winner.model_bytes,
        provenance=provenance,
        passed=bool(gates[chosen].passed),
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


def public_columns(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the schema declares about each column's values: public, so a DP job need not
    spend ε on it."""
    return {
        c["name"]: {k: c[k] for k in ("min", "max", "allowed", "required") if k in c}
        for c in schema["columns"]
    }
