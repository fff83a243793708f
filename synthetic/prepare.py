"""From CSV rows and a request to what the candidates are fitted on. Pure: no Django.

``prepare`` checks the request and the rows (schema, size, identifiers, declared constraints,
a repeat's input hash), splits training and hold-out rows, infers the inequalities the
training rows keep, and builds the ``candidates.Setup`` every generator is fitted and judged
with, so that every candidate sees exactly the same rows, rules and gate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .candidates import Setup
from .constraints import RowChecker
from .dp_request import DPRequest, DPSettingsError
from .gan.train import GanSettings
from .gate import GatePolicy
from .infer import InputError, infer_schema, parse_rows
from .provenance import sha256_json
from .table import Table, train_holdout_split
from .table_constraints import (
    Condition,
    Constraint,
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


@dataclass
class Prepared:
    """The checked request: the schema, the rules, the split, and the candidates' ``Setup``."""

    schema: dict[str, Any]
    inferred: bool  # the schema was read off the rows
    target: str | None
    declared: list[Constraint]
    found: list[Constraint]  # inequalities inferred from the training rows
    wanted: list[Condition]  # the subgroup the output rows must belong to
    input_sha256: str
    holdout_fraction: float
    infer_constraints: bool
    setup: Setup


def check_request(method: str, n_rows: int, settings: GanSettings) -> None:
    """Refuse what no rows can make possible: an unknown method, a row count out of range,
    DP with another generator than the GAN, an unreadable DP request."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 1 <= n_rows <= MAX_OUTPUT_ROWS:
        raise InputError(f"rows to generate must be from 1 to {MAX_OUTPUT_ROWS}, not {n_rows}")
    if settings.dp is not None:
        if method != "gan":
            raise InputError(DP_METHODS_REFUSAL)
        try:
            DPRequest.from_dict(settings.dp)
        except DPSettingsError as exc:
            raise InputError(str(exc)) from None


def prepare(
    rows: Sequence[dict[str, str | None]],
    *,
    n_rows: int,
    seed: int,
    schema: dict[str, Any] | None,
    target: str | None,
    gan_settings: GanSettings,
    tvae_settings: TvaeSettings,
    policy: GatePolicy | None,
    holdout_fraction: float,
    notify: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool] | None,
    constraints: Sequence[str],
    conditions: Sequence[str] | dict[str, Any],
    infer_constraints: bool,
    require: dict[str, str] | None,
) -> Prepared:
    """Check the rows against the request and build what the candidates are fitted with."""
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
    private = gan_settings.dp is not None
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
        # Inferred inequalities are met by swapping a broken pair's values (then by dropping
        # the rows still out of order), never built into the model: modelling b - a changes
        # the model, and the data did not ask for that.
        rules.fit(train_rows, target=target, checked_only=found)
        if wanted and not condition_mask(train_rows, wanted).any():
            raise InputError(
                f"no training row has {' and '.join(c.text for c in wanted)}: the model "
                "cannot generate that subgroup"
            )
    setup = Setup(
        train_rows=train_rows,
        model_rows=rules.forward(train_rows),
        holdout=holdout,
        target=target,
        seed=seed,
        gan_settings=gan_settings,
        tvae_settings=tvae_settings,
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
    return Prepared(
        schema=schema,
        inferred=inferred,
        target=target,
        declared=declared,
        found=found,
        wanted=wanted,
        input_sha256=input_sha256,
        holdout_fraction=holdout_fraction,
        infer_constraints=infer_constraints,
        setup=setup,
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
