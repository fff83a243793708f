"""One fit + sample + evaluation of one generator on one table and seed, for
``bench.synthetic`` (which runs it in a fresh subprocess). Our generators go through what a
job does: the declared constraints and the inferred inequalities (``ConstraintSet``), the
schema-enforcing sampler, copies of training rows counted before any is dropped. CTGAN's rows
are taken as they come (nothing filtered) and checked against the same constraints.

A table name is a ``synthetic.sample_tables`` function, optionally with a row count for the
generated one: ``mixed_customers:2000``.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any

HOLDOUT_FRACTION = 0.35
SAMPLE_ROWS = 10_000
# The DCR share is measured on at least this many synthetic rows (``n_train`` when more). It is
# a mean over synthetic rows whose expectation does not depend on how many are compared; on
# wine's 115 the rows drawn alone move it by several hundredths.
PRIVACY_ROWS = 2000
# CTGAN runs on as many torch threads as our models (one): on a shared two-core machine a
# second OpenMP thread makes small-matrix training several times slower, which would flatter us.
CTGAN_THREADS = 1


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> int:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS")


@functools.cache
def _table(table: str) -> tuple[Any, dict[str, Any], list[dict[str, str]]]:
    from synthetic import sample_tables
    from synthetic.infer import parse_rows

    name, _, size = table.partition(":")
    make = getattr(sample_tables, name)
    rows, schema = make(int(size)) if size else make()
    return parse_rows(rows, schema), schema, rows


def _load(table: str, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    from synthetic.table import train_holdout_split

    full, schema, _ = _table(table)
    train, holdout = train_holdout_split(
        full, holdout_fraction=HOLDOUT_FRACTION, seed=seed, target=schema["target"]
    )
    return full.take(train), full.take(holdout), schema


def _gan_settings(epochs: int) -> Any:
    """The default settings, or fewer epochs with validation checkpoints as often per epoch."""
    from synthetic.gan.train import GanSettings

    default = GanSettings()
    if epochs == default.epochs:
        return default
    evaluations = max(1, epochs * default.evaluations // default.epochs)
    return GanSettings(epochs=epochs, evaluations=evaluations)


def _rules(train: Any, schema: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The job's constraints: declared (built in where they can be) and inferred (checked)."""
    from synthetic.table_constraints import ConstraintSet, infer_inequalities, parse_constraints

    declared = parse_constraints(schema.get("constraints") or [])
    found = infer_inequalities(train, skip={schema["target"]}, known=declared)
    rules = ConstraintSet([*declared, *found], train.specs)
    rules.fit(train, target=schema["target"], checked_only=found)
    return rules, declared


def fit_and_sample(method: str, table: str, seed: int, epochs: int) -> dict[str, Any]:
    import numpy as np

    from synthetic.constraints import RowChecker, sample_valid

    train, holdout, schema = _load(table, seed)
    target = schema["target"]
    rules, declared = _rules(train, schema)
    model_rows = rules.forward(train)
    rss_before = _reset_peak_rss()
    start = time.perf_counter()
    info: dict[str, Any] = {}
    copies = None
    if method == "ctgan":
        synthetic, fitted = _ctgan(train, seed, epochs)
        forbidden = set(train.row_keys())
        copies = (sum(k in forbidden for k in synthetic.row_keys()), synthetic.n_rows)
    else:
        if method == "gan":
            from synthetic.gan.train import train as train_gan

            model: Any = train_gan(
                model_rows, target=target, seed=seed, settings=_gan_settings(epochs)
            )
            info = dict(model.info)
        elif method == "tvae":
            from synthetic.tvae.train import TvaeSettings
            from synthetic.tvae.train import train as train_tvae

            model = train_tvae(
                model_rows, seed=seed, target=target, settings=TvaeSettings(epochs=epochs)
            )
            info = dict(model.info)
        else:
            from synthetic.copula import GaussianCopula

            model = GaussianCopula().fit(model_rows, target=target)
        fitted = time.perf_counter()
        synthetic, stats = sample_valid(
            lambda k, rng: rules.reverse(model.sample(k, rng)),
            SAMPLE_ROWS,
            rng=np.random.default_rng(seed),
            checker=RowChecker(schema),
            forbidden=set(train.row_keys()),
            rules=rules.problems if rules.constraints else None,
        )
        copies = (stats.copies, stats.drawn)
    sampled = time.perf_counter()
    rss_after = _status_kib("VmHWM")
    return {
        "train": train,
        "holdout": holdout,
        "target": target,
        "synthetic": synthetic,
        "declared": declared,
        "copies": copies,
        "fit_s": fitted - start,
        "sample_10k_s": sampled - fitted,
        "peak_rss_growth_mib": round(max(0, rss_after - rss_before) / 1024, 1),
        "info": info,
    }


def one(method: str, table: str, seed: int, epochs: int) -> dict[str, Any]:
    """The figures of one run, on ``n_train`` synthetic rows (the first of the sample); the DCR
    share on ``max(n_train, PRIVACY_ROWS)`` of them."""
    import numpy as np

    from synthetic.evaluate import evaluate
    from synthetic.privacy import privacy
    from synthetic.table_constraints import ConstraintSet

    done = fit_and_sample(method, table, seed, epochs)
    train = done["train"]
    head = done["synthetic"].take(np.arange(train.n_rows))
    report = evaluate(train, done["holdout"], head, target=done["target"], seed=seed)
    compared = min(done["synthetic"].n_rows, max(train.n_rows, PRIVACY_ROWS))
    dcr = privacy(train, done["holdout"], done["synthetic"].take(np.arange(compared)), seed=seed)
    declared = ConstraintSet(done["declared"], train.specs)
    broken = sum(p is not None for p in declared.problems(done["synthetic"]))
    copies, drawn = done["copies"]
    return {
        "seed": seed,
        "fit_s": done["fit_s"],
        "sample_10k_s": done["sample_10k_s"],
        "quality": report["quality"]["score"],
        "real_ceiling": report["real_ceiling"],
        "tstr_trtr": report["utility"]["ratio"],
        "dcr_share": dcr["share_closer_to_training"],
        "dcr_rows": compared,
        "dcr_subsamples": dcr["share_subsamples"],
        "exact_copies": report["privacy"]["exact_copies"],
        "copies_before_filtering": copies,
        "drawn": drawn,
        "constraints_held": (1.0 - broken / done["synthetic"].n_rows) if done["declared"] else None,
        "peak_rss_growth_mib": done["peak_rss_growth_mib"],
        "info": done["info"],
    }


def worker(method: str, table: str, seeds: list[int], epochs: int, warmup: bool) -> dict[str, Any]:
    """Fit + sample + evaluation per seed, in this (fresh) process; with ``warmup``, one fit +
    sample of the first seed before them, not reported."""
    warnings.filterwarnings("ignore")
    # Imports before the RSS baseline: the measurement is the model, not the libraries (the
    # copula needs no torch).
    if method != "copula":
        import torch  # noqa: F401
    if method.startswith("ctgan"):
        import ctgan  # noqa: F401
    runs = []
    if warmup:
        done = fit_and_sample(method, table, seeds[0], epochs)
        runs.append({"warmup": True, "peak_rss_growth_mib": done["peak_rss_growth_mib"]})
    runs += [one(method, table, seed, epochs) for seed in seeds]
    return {"runs": runs}


def _ctgan(train: Any, seed: int, epochs: int) -> tuple[Any, float]:
    """CTGAN's fit and 10 000 rows. CTGAN refuses missing values in continuous columns: such a
    column is given filled with its median plus a discrete "missing" flag column (as SDV does),
    and the flag puts the gaps back in its output."""
    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    from synthetic.table import Table

    columns: dict[str, Any] = {}
    flags = []
    for s in train.specs:
        if not s.numeric:
            columns[s.name] = pd.Series(list(train[s.name]), dtype=object)
            continue
        column = train[s.name]
        gaps = np.isnan(column)
        if gaps.any():
            columns[s.name] = np.where(gaps, np.nanmedian(column), column)
            columns[s.name + "__missing"] = pd.Series(list(gaps.astype(int).astype(str)))
            flags.append(s.name)
        else:
            columns[s.name] = column
    frame = pd.DataFrame(columns)
    discrete = [s.name for s in train.specs if not s.numeric] + [f + "__missing" for f in flags]
    torch.set_num_threads(CTGAN_THREADS)
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = CTGAN(epochs=epochs, enable_gpu=False)
    model.fit(frame, discrete_columns=discrete)
    fitted = time.perf_counter()
    out = model.sample(SAMPLE_ROWS)
    data = {}
    for spec in train.specs:
        column = out[spec.name].to_numpy()
        if spec.numeric:
            values = column.astype(float)
            if spec.name in flags:
                values[out[spec.name + "__missing"].to_numpy() == "1"] = np.nan
            data[spec.name] = values
        else:
            values = np.empty(len(column), dtype=object)
            values[:] = [None if v is None or v != v else v for v in column]
            data[spec.name] = values
    return Table(train.specs, data), fitted
