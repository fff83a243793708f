"""Benchmark: our tabular GAN against CTGAN and our Gaussian-copula baseline (issue #6).

Run ``python -m bench.synthetic [--quick] [--seeds N] [--tables a,b] [--json PATH]
[--markdown PATH]``. For each table (scikit-learn's breast cancer; wine with ``alcohol``,
``magnesium`` and ``hue`` binned into three-level categories) and seed, the rows are split
65/35 into train and hold-out (stratified on the target), then each generator is fitted on the
training rows and measured:

* ``gan``: ours, default settings (``synthetic.gan.train.GanSettings``), rows drawn through the
  same schema-enforcing, copy-refusing sampler ``synthetic.run`` uses;
* ``ctgan``: the ``ctgan`` package (BSL: bench only), 300 epochs, the fit-time reference;
  ``ctgan_eq``: CTGAN at the epochs our GAN actually ran (early stopping), when that differs;
* ``copula``: our Gaussian copula, one per target class.

Per run: fit seconds, seconds to sample 10 000 rows, and on ``n_train`` synthetic rows: the
SDMetrics-equivalent quality score, the real ceiling (the hold-out's own score against the
training rows), TSTR/TRTR (random forest, accuracy on the hold-out), the share of synthetic
rows closer to a training row than to a hold-out row (training subsampled to the hold-out's
size), exact copies of training rows; and peak RSS growth of the fit + sample (each run is a
fresh subprocess; Linux only). Fit time is also given as a ratio to CTGAN's 300-epoch fit in
the same run, which makes it comparable across machines. Targets for ``gan`` on both tables:
quality within 0.05 of the real ceiling, TSTR/TRTR >= 0.93, no exact copies, DCR share <= 0.60,
fit time <= CTGAN's 300-epoch fit (both on one torch thread). The JSON summary goes to stdout
(and ``--json``); a markdown table to stderr (and ``--markdown``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from bench._report import emit

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("breast_cancer", "wine_binned")
HOLDOUT_FRACTION = 0.35
SAMPLE_ROWS = 10_000
CTGAN_EPOCHS = 300
# CTGAN runs on as many torch threads as our GAN (one): on a shared two-core machine a second
# OpenMP thread makes small-matrix training several times slower, which would flatter us.
CTGAN_THREADS = 1
TARGET_QUALITY_GAP = 0.05
TARGET_UTILITY = 0.93
TARGET_DCR_SHARE = 0.60


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


def _load(table: str, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    from synthetic import sample_tables
    from synthetic.infer import parse_rows
    from synthetic.table import train_holdout_split

    rows, schema = getattr(sample_tables, table)()
    full = parse_rows(rows, schema)
    train, holdout = train_holdout_split(
        full, holdout_fraction=HOLDOUT_FRACTION, seed=seed, target=schema["target"]
    )
    return full.take(train), full.take(holdout), schema


def _worker(method: str, table: str, seed: int, epochs: int) -> dict[str, Any]:
    """One fit + sample + evaluation, in this (fresh) process."""
    import numpy as np

    from synthetic.evaluate import evaluate

    warnings.filterwarnings("ignore")
    train, holdout, schema = _load(table, seed)
    target = schema["target"]
    # Imports before the RSS baseline: the measurement is the model, not the libraries.
    if method.startswith("ctgan"):
        import ctgan  # noqa: F401
    import torch  # noqa: F401

    rss_before = _reset_peak_rss()
    start = time.perf_counter()
    info: dict[str, Any] = {}
    if method == "gan":
        from synthetic.constraints import RowChecker, sample_valid
        from synthetic.gan.train import GanSettings
        from synthetic.gan.train import train as train_gan

        model = train_gan(train, target=target, seed=seed, settings=GanSettings())
        fitted = time.perf_counter()
        forbidden = set(train.concat(holdout).row_keys())
        synthetic, _ = sample_valid(
            model.sample,
            SAMPLE_ROWS,
            rng=np.random.default_rng(seed),
            checker=RowChecker(schema),
            forbidden=forbidden,
        )
        info = dict(model.info)
    elif method == "copula":
        from synthetic.constraints import RowChecker, sample_valid
        from synthetic.copula import GaussianCopula

        copula = GaussianCopula().fit(train, target=target)
        fitted = time.perf_counter()
        forbidden = set(train.concat(holdout).row_keys())
        synthetic, _ = sample_valid(
            copula.sample,
            SAMPLE_ROWS,
            rng=np.random.default_rng(seed),
            checker=RowChecker(schema),
            forbidden=forbidden,
        )
    else:
        synthetic, fitted = _ctgan(train, seed, epochs)
    sampled = time.perf_counter()
    rss_after = _status_kib("VmHWM")
    head = synthetic.take(np.arange(train.n_rows))
    report = evaluate(train, holdout, head, target=target, seed=seed)
    return {
        "fit_s": fitted - start,
        "sample_10k_s": sampled - fitted,
        "quality": report["quality"]["score"],
        "real_ceiling": report["real_ceiling"],
        "tstr_trtr": report["utility"]["ratio"],
        "dcr_share": report["privacy"]["share_closer_to_training"],
        "exact_copies": report["privacy"]["exact_copies"],
        "peak_rss_growth_mib": round(max(0, rss_after - rss_before) / 1024, 1),
        "info": info,
    }


def _ctgan(train: Any, seed: int, epochs: int) -> tuple[Any, float]:
    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    from synthetic.table import Table

    frame = pd.DataFrame(
        {
            s.name: train[s.name] if s.numeric else pd.Series(list(train[s.name]), dtype=object)
            for s in train.specs
        }
    )
    discrete = [s.name for s in train.specs if not s.numeric]
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
            data[spec.name] = column.astype(float)
        else:
            values = np.empty(len(column), dtype=object)
            values[:] = list(column)
            data[spec.name] = values
    return Table(train.specs, data), fitted


def _run_worker(method: str, table: str, seed: int, epochs: int = CTGAN_EPOCHS) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.synthetic",
            "--worker",
            method,
            table,
            str(seed),
            str(epochs),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode:
        raise RuntimeError(f"{method} worker failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 4) if values else None


def run(tables: list[str], seeds: list[int], with_equal_epochs: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for table in tables:
        runs: dict[str, list[dict[str, Any]]] = {
            "gan": [],
            "ctgan": [],
            "ctgan_eq": [],
            "copula": [],
        }
        for seed in seeds:
            gan = _run_worker("gan", table, seed)
            ctgan = _run_worker("ctgan", table, seed)
            gan["fit_ratio_vs_ctgan300"] = gan["fit_s"] / ctgan["fit_s"]
            runs["gan"].append(gan)
            runs["ctgan"].append(ctgan)
            epochs = gan["info"]["epochs_run"]
            if with_equal_epochs and epochs != CTGAN_EPOCHS:
                equal = _run_worker("ctgan", table, seed, epochs)
                equal["epochs"] = epochs
                runs["ctgan_eq"].append(equal)
            runs["copula"].append(_run_worker("copula", table, seed))
            print(
                f"{table} seed {seed}: "
                + "  ".join(
                    f"{m} q={r[-1]['quality']:.3f} u={r[-1]['tstr_trtr']:.3f} "
                    f"fit={r[-1]['fit_s']:.1f}s"
                    for m, r in runs.items()
                    if r
                ),
                file=sys.stderr,
            )
        results[table] = {m: _summarise(r) for m, r in runs.items() if r}
    return {
        "benchmark": "synthetic",
        "seeds": seeds,
        "holdout_fraction": HOLDOUT_FRACTION,
        "sample_rows": SAMPLE_ROWS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "results": results,
        "targets": _targets(results),
    }


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        "fit_s",
        "sample_10k_s",
        "quality",
        "real_ceiling",
        "tstr_trtr",
        "dcr_share",
        "exact_copies",
        "peak_rss_growth_mib",
        "fit_ratio_vs_ctgan300",
    )
    summary: dict[str, Any] = {k: _median(runs, k) for k in keys if any(k in r for r in runs)}
    summary["quality_gap"] = round(summary["real_ceiling"] - summary["quality"], 4)
    summary["exact_copies_max"] = max(r["exact_copies"] for r in runs)
    summary["runs"] = runs
    return summary


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, methods in results.items():
        gan = methods["gan"]
        checks = {
            "quality_within_0.05_of_ceiling": gan["quality_gap"] <= TARGET_QUALITY_GAP,
            "tstr_trtr_at_least_0.93": gan["tstr_trtr"] >= TARGET_UTILITY,
            "no_exact_copies": gan["exact_copies_max"] == 0,
            "dcr_share_at_most_0.60": gan["dcr_share"] <= TARGET_DCR_SHARE,
            "fit_time_at_most_ctgan300": gan["fit_ratio_vs_ctgan300"] <= 1.0,
        }
        out[table] = {"checks": checks, "met": all(checks.values())}
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "| table | generator | fit s | fit / ctgan300 | sample 10k s | quality | ceiling | "
        "TSTR/TRTR | DCR share | copies | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for table, methods in summary["results"].items():
        for name, m in methods.items():
            label = name if name != "ctgan_eq" else f"ctgan ({m['runs'][0]['epochs']} ep)"
            ratio = m.get("fit_ratio_vs_ctgan300")
            lines.append(
                f"| {table} | {label} | {m['fit_s']:.1f} | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {m['sample_10k_s']:.2f} | "
                f"{m['quality']:.3f} | {m['real_ceiling']:.3f} | {m['tstr_trtr']:.3f} | "
                f"{m['dcr_share']:.3f} | {m['exact_copies_max']} | {m['peak_rss_growth_mib']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per table")
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--quick", action="store_true", help="one seed, no equal-epoch CTGAN")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write the markdown table here")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        method, table, seed, epochs = args.worker
        print(json.dumps(_worker(method, table, int(seed), int(epochs))))
        return 0
    tables = [t for t in args.tables.split(",") if t]
    if not set(tables) <= set(TABLES) or args.seeds < 1:
        parser.error(f"--tables from {', '.join(TABLES)}; --seeds at least 1")
    seeds = list(range(1 if args.quick else args.seeds))
    summary = run(tables, seeds, with_equal_epochs=not args.quick)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
