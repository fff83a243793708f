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
    check_stop,
    dp_view,
    draw,
    draw_subgroup,
    run_candidate,
    stream,
)
from .choice import choose
from .gan.train import Cancelled, GanSettings
from .gate import GatePolicy, recommend
from .infer import InputError
from .prepare import HOLDOUT_FRACTION, METHODS, Prepared, check_request, prepare
from .provenance import provenance as make_provenance
from .provenance import replay_arguments, sha256_json
from .spelling import bool_spellings
from .table import Table
from .tvae.settings import TvaeSettings

# The generators each method fits: the copula is the baseline every report compares with.
CANDIDATES = {
    "gan": ("copula", "gan"),
    "copula": ("copula",),
    "tvae": ("copula", "tvae"),
    "auto": ("copula", "gan", "tvae"),
}

__all__ = [
    "METHODS",
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
    settings = gan_settings or GanSettings()
    tvae = tvae_settings or TvaeSettings()
    check_request(method, n_rows, settings)
    notify = on_progress or (lambda event: None)
    prepared = prepare(
        rows,
        n_rows=n_rows,
        seed=seed,
        schema=schema,
        target=target,
        gan_settings=settings,
        tvae_settings=tvae,
        policy=policy,
        holdout_fraction=holdout_fraction,
        notify=notify,
        should_stop=should_stop,
        constraints=constraints,
        conditions=conditions,
        infer_constraints=infer_constraints,
        require=require,
    )
    setup = prepared.setup
    fitted = _fit(method, n_rows, prepared)
    chosen, advice, choice = _pick(method, fitted, private=setup.private)
    winner = fitted[chosen]
    synthetic = _output_rows(winner, chosen, n_rows, prepared)
    check_stop(should_stop, "the output")
    provenance = _provenance(method, chosen, fitted, synthetic, prepared, n_rows)
    evaluated = {name: c.entry for name, c in fitted.items()}
    if setup.private:
        evaluated = {"gan": dp_view(evaluated["gan"])}
    report = {
        "method": method,
        "schema_inferred": prepared.inferred,
        "target": prepared.target,
        "generators": evaluated,
        "recommendation": advice,
        "constraints": {**setup.rules.state(), "inferred": [c.text for c in prepared.found]},
        "conditions": [c.text for c in prepared.wanted],
        # How the input spelled its bool columns, for writing the rows (a DP job reads nothing
        # from the rows outside its accountant: its bools are written true/false).
        "spellings": {} if setup.private else bool_spellings(rows, prepared.schema),
        "provenance": provenance,
    }
    if choice is not None:
        report["choice"] = choice
    notify({"stage": "done"})
    return SynthesisResult(
        method=chosen,
        rows=synthetic.records(),
        schema=prepared.schema,
        report=report,
        checkpoint=winner.model_bytes,
        provenance=provenance,
        passed=bool(winner.result.passed),
        publish=advice["publish"],
    )


def _fit(method: str, n_rows: int, prepared: Prepared) -> dict[str, Candidate]:
    """Fit and judge each candidate the method asks for (a DP job fits the GAN alone: the
    copula would read the real rows outside the accountant)."""
    names = ("gan",) if prepared.setup.private else CANDIDATES[method]
    fitted: dict[str, Candidate] = {}
    for name in names:
        # The rows asked for come from the generator asked for; every other candidate draws
        # what its evaluation needs (for "auto", the winner draws again below if that is fewer).
        want = n_rows if name == method and not prepared.wanted else min(n_rows, EVAL_MAX_ROWS)
        fitted[name] = run_candidate(name, prepared.setup, want)
    return fitted


def _pick(
    method: str, fitted: dict[str, Candidate], *, private: bool
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Whose rows are output, the gate's advice on publishing, and for "auto" the choice."""
    gates = {name: c.result for name, c in fitted.items()}
    choice = None
    if method == "auto":
        choice = choose({name: c.entry for name, c in fitted.items()}, gates)
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
    return chosen, advice, choice


def _output_rows(winner: Candidate, chosen: str, n_rows: int, prepared: Prepared) -> Table:
    """The rows output: the subgroup asked for, or the winner's own ``n_rows``."""
    setup = prepared.setup
    if prepared.wanted:
        setup.notify({"stage": f"sample_{chosen}_subgroup", "rows": n_rows})
        return draw_subgroup(
            winner.model, setup, prepared.wanted, n_rows, stream(chosen, setup.seed, 1)
        )
    if winner.rows.n_rows != n_rows:
        # "auto" evaluated a sample of at most EVAL_MAX_ROWS: the rows asked for are the ones
        # the winner's own method would output (the same stream).
        setup.notify({"stage": f"sample_{chosen}", "rows": n_rows})
        rows, _ = draw(winner.model, setup, n_rows, stream(chosen, setup.seed))
        return rows
    return winner.rows


def _provenance(
    method: str,
    chosen: str,
    fitted: dict[str, Candidate],
    synthetic: Table,
    prepared: Prepared,
    n_rows: int,
) -> dict[str, Any]:
    """What a reader needs to repeat the run and check it (``replay_arguments``)."""
    setup = prepared.setup
    provenance = make_provenance(
        schema=prepared.schema,
        seed=setup.seed,
        method=method,
        fitted=tuple(fitted),
        gan_settings=setup.gan_settings,
        tvae_settings=setup.tvae_settings,
        holdout_fraction=prepared.holdout_fraction,
        n_train=setup.train_rows.n_rows,
        n_holdout=setup.holdout.n_rows,
        model_bytes=fitted[chosen].model_bytes,
        input_sha256=prepared.input_sha256,
    )
    provenance["rows"] = n_rows
    if method == "auto":
        provenance["generator"] = chosen
    provenance["output_sha256"] = sha256_json(synthetic.records())
    provenance["target"] = prepared.target
    provenance["constraints"] = {
        "declared": [c.text for c in prepared.declared],
        "inferred": [c.text for c in prepared.found],
        "infer": prepared.infer_constraints,
    }
    provenance["conditions"] = [c.text for c in prepared.wanted]
    if "gan" in fitted:
        info = fitted["gan"].info
        provenance["training"] = {
            k: info.get(k)
            for k in ("epochs_run", "stopped", "best_epoch", "validate_every", "validations")
        }
    if "tvae" in fitted:
        info = fitted["tvae"].info
        provenance["tvae_training"] = {k: info.get(k) for k in ("epochs_run", "stopped")}
    if setup.private:
        import opacus

        # A hash of the rows is a membership test (hash a candidate table, compare).
        provenance["input_sha256"] = None
        provenance["withheld"] = "the input's hash (a membership test, not covered by ε)"
        provenance["dp"] = fitted["gan"].info["dp"]
        provenance["versions"]["opacus"] = opacus.__version__
    return provenance
