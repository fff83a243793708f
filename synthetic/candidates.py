"""One candidate generator of a run: fit it, draw rows that keep the schema and constraints,
evaluate them and gate them on the hold-out. Pure: no Django.

Every candidate (copula, GAN, TVAE) goes through the same sampler, evaluation and gate, so
their figures compare. Each draws from its own random stream (``STREAMS``), so a candidate's
rows do not depend on which other candidates the run fitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import checkpoint
from .constraints import RowChecker, SampleStats, sample_valid
from .copula import GaussianCopula
from .evaluate import evaluate
from .gan.dp_stats import DPStatsError
from .gan.train import Cancelled, GanSettings, Progress
from .gate import GatePolicy, GateResult, gate
from .infer import InputError
from .table import Table
from .table_constraints import ConstraintSet, condition_mask
from .tvae.settings import TvaeSettings

# The random stream of each generator's rows: ``default_rng([seed, STREAMS[name]])``.
STREAMS = {"gan": 0, "copula": 1, "tvae": 2}
# The report evaluates at most this many output rows (a prefix: the output is shuffled).
EVAL_MAX_ROWS = 10_000


@dataclass(frozen=True)
class Setup:
    """What every candidate of one run shares."""

    train_rows: Table  # the training rows as read (what the evaluation compares with)
    model_rows: Table  # the same rows as the models see them (after the constraints' forward)
    holdout: Table
    target: str | None
    seed: int
    gan_settings: GanSettings
    tvae_settings: TvaeSettings
    public: dict[str, dict[str, Any]]  # what the schema declares per column (a DP job's)
    rules: ConstraintSet
    checker: RowChecker
    forbidden: set[tuple[Any, ...]]  # training rows: counted, and dropped unless DP
    private: bool
    policy: GatePolicy | None
    notify: Callable[[dict[str, Any]], None]
    should_stop: Callable[[], bool] | None


@dataclass
class Candidate:
    """A fitted generator, the rows it drew for its evaluation, and their figures."""

    name: str
    model: Any
    model_bytes: bytes
    info: dict[str, Any]
    rows: Table
    entry: dict[str, Any]  # the report's entry: evaluation, gate, sampling, model, seconds
    result: GateResult


def check_stop(should_stop: Callable[[], bool] | None, stage: str) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled(f"cancelled before {stage}")


def run_candidate(name: str, setup: Setup, n_rows: int) -> Candidate:
    """Fit ``name``, draw ``n_rows`` rows from its stream, evaluate (a prefix of at most
    ``EVAL_MAX_ROWS``) and gate them."""
    check_stop(setup.should_stop, name)
    setup.notify({"stage": f"fit_{name}"})
    start = time.monotonic()
    model, model_bytes, info = _fit(name, setup)
    setup.notify({"stage": f"sample_{name}", "rows": n_rows})
    rows, stats = draw(model, setup, n_rows, stream(name, setup.seed))
    check_stop(setup.should_stop, name)
    setup.notify({"stage": f"evaluate_{name}"})
    head = rows.take(np.arange(min(rows.n_rows, EVAL_MAX_ROWS)))
    report, result = evaluate_and_gate(
        setup.train_rows,
        setup.holdout,
        head,
        target=setup.target,
        seed=setup.seed,
        copies=(stats.copies, stats.drawn),
        policy=setup.policy,
    )
    entry = {
        **report,
        "gate": result.to_dict(),
        "sampling": stats.to_dict(),
        "model": info,
        "seconds": round(time.monotonic() - start, 3),
    }
    return Candidate(name, model, model_bytes, info, rows, entry, result)


def stream(name: str, seed: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, STREAMS[name], *more])


def _fit(name: str, setup: Setup) -> tuple[Any, bytes, dict[str, Any]]:
    fitted = setup.rules.fitted_state() if setup.rules.constraints else None
    if name == "gan":
        from .gan.train import train

        try:
            model: Any = train(
                setup.model_rows,
                target=setup.target,
                seed=setup.seed,
                settings=setup.gan_settings,
                progress=lambda p: setup.notify(_progress_event(p)),
                should_stop=setup.should_stop,
                public=setup.public,
            )
        except DPStatsError as exc:
            raise InputError(str(exc)) from None
        if fitted:
            model.info["constraints"] = fitted
        return model, model.to_bytes(), dict(model.info)
    if name == "tvae":
        from .tvae.train import train as train_tvae

        model = train_tvae(
            setup.model_rows,
            seed=setup.seed,
            target=setup.target,
            settings=setup.tvae_settings,
            progress=lambda p: setup.notify({"stage": "fit_tvae", **p}),
            should_stop=setup.should_stop,
        )
        if fitted:
            model.info["constraints"] = fitted
        return model, model.to_bytes(), dict(model.info)
    model = GaussianCopula().fit(setup.model_rows, target=setup.target)
    state = model.state()
    if fitted:
        state["constraints"] = fitted
    return model, checkpoint.pack(state), {}


def draw(
    model: Any, setup: Setup, n_rows: int, rng: np.random.Generator
) -> tuple[Table, SampleStats]:
    """``n_rows`` rows from ``model`` that keep the schema and the constraints and (unless
    DP) copy no training row."""

    def one(k: int, r: np.random.Generator) -> Table:
        return setup.rules.reverse(model.sample(k, r))

    return sample_valid(
        one,
        n_rows,
        rng=rng,
        checker=setup.checker,
        forbidden=setup.forbidden,
        drop_forbidden=not setup.private,
        rules=setup.rules.problems if setup.rules.constraints else None,
    )


def draw_subgroup(
    model: Any, setup: Setup, wanted: list[Any], n_rows: int, rng: np.random.Generator
) -> Table:
    """``n_rows`` rows of the subgroup ``wanted`` describes. The GAN conditions its generator
    on one discrete column directly; anything else is drawn and filtered (bounded)."""
    rules = setup.rules
    given = None
    modelled = set(rules.forward_columns())
    if len(wanted) == 1 and wanted[0].column not in modelled and hasattr(model, "condition_for"):
        given = model.condition_for(wanted[0].column, wanted[0].value)

    def one(k: int, r: np.random.Generator) -> Table:
        sample = model.sample_given(k, r, given) if given is not None else model.sample(k, r)
        return rules.reverse(sample)

    rows, _ = sample_valid(
        one,
        n_rows,
        rng=rng,
        checker=setup.checker,
        forbidden=setup.forbidden,
        drop_forbidden=not setup.private,
        rules=rules.problems if rules.constraints else None,
        subgroup=(
            " and ".join(c.text for c in wanted),
            lambda t: condition_mask(t, wanted),
        ),
    )
    return rows


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


def _progress_event(progress: Progress) -> dict[str, Any]:
    return {"stage": "fit_gan", **asdict(progress)}


# What a DP job's owner sees of an evaluation: the figures are computed on real rows outside
# the accountant, so only the gate's verdict (one bit, documented as not covered) is shown.
DP_WITHHELD = (
    "computed on real rows outside the privacy accountant: withheld from a DP job's report "
    "(only the gate's verdict is shown)"
)


def dp_view(entry: dict[str, Any]) -> dict[str, Any]:
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
