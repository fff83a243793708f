"""The figure behind method "auto", for ``python -m bench.synthetic --candidates``: per seed,
the job's own ``synthesize(method="auto")`` on wine_binned with default settings: copula, GAN
and TVAE fitted on the same 65% and gated on the same 35% hold-out; each candidate's TSTR/TRTR,
quality, DCR share, gate verdict and seconds, and which one won. No CTGAN needed."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from typing import Any

HOLDOUT_FRACTION = 0.35
ROWS_EVALUATED = 1000


def _spread(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def candidates(seeds: list[int], table: str = "wine_binned") -> dict[str, Any]:
    """The figure for method "auto": per seed, ``synthesize(method="auto")`` with the default
    settings (the GAN's 300 epochs at most with early stopping, TVAE's 300) on ``table``, split
    65/35 as every job is; each candidate's gate figures on that hold-out (TSTR/TRTR, quality,
    pass or fail) and fit-to-gate seconds, and which one the choice published. Medians over
    the seeds, with every run kept. In-process and sequential (one torch thread each)."""
    from synthetic import sample_tables
    from synthetic.synthesize import synthesize

    rows, schema = getattr(sample_tables, table)()
    runs = []
    for seed in seeds:
        result = synthesize(rows, n_rows=ROWS_EVALUATED, seed=seed, schema=schema, method="auto")
        report = result.report
        line = {"seed": seed, "winner": report["choice"]["winner"]}
        for name, entry in report["generators"].items():
            line[name] = {
                "tstr_trtr": entry["utility"]["ratio"],
                "quality": entry["quality"]["score"],
                "dcr_share": entry["privacy"]["share_closer_to_training"],
                "real_ceiling": entry["real_ceiling"],
                "passed": entry["gate"]["passed"],
                "failed": [c["name"] for c in entry["gate"]["checks"] if not c["passed"]],
                "seconds": entry["seconds"],
                "epochs_run": entry["model"].get("epochs_run"),
            }
        runs.append(line)
        print(
            f"{table} seed {seed}: "
            + "  ".join(
                f"{n} u={line[n]['tstr_trtr']:.3f} q={line[n]['quality']:.3f} "
                f"dcr={line[n]['dcr_share']:.3f} "
                f"{'pass' if line[n]['passed'] else 'FAIL'} {line[n]['seconds']:.1f}s"
                for n in ("copula", "gan", "tvae")
            )
            + f"  -> {line['winner']}",
            file=sys.stderr,
        )
    summary: dict[str, Any] = {}
    for name in ("copula", "gan", "tvae"):
        summary[name] = {
            key: _spread([r[name][key] for r in runs])
            for key in ("tstr_trtr", "quality", "dcr_share", "seconds")
        }
        summary[name]["passed"] = sum(r[name]["passed"] for r in runs)
    # A seed where no candidate passed the gate counts under "None".
    winners = [str(r["winner"]) for r in runs]
    return {
        "benchmark": "synthetic-candidates",
        "table": table,
        "seeds": seeds,
        "holdout_fraction": HOLDOUT_FRACTION,
        "rows_evaluated": ROWS_EVALUATED,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "summary": summary,
        "wins": {n: winners.count(n) for n in sorted(set(winners))},
        "runs": runs,
    }


def candidates_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['table']}, {len(result['seeds'])} seeds, method auto (default settings): "
        "median (min–max) on each seed's hold-out.",
        "",
        "| candidate | TSTR/TRTR | quality | DCR share | fit+sample+gate s | passed the gate "
        "| won |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in result["summary"].items():
        u, q, d, t = m["tstr_trtr"], m["quality"], m["dcr_share"], m["seconds"]
        lines.append(
            f"| {name} | {u['median']:.3f} ({u['min']:.3f}–{u['max']:.3f}) | "
            f"{q['median']:.3f} ({q['min']:.3f}–{q['max']:.3f}) | "
            f"{d['median']:.3f} ({d['min']:.3f}–{d['max']:.3f}) | {t['median']:.1f} "
            f"({t['min']:.1f}–{t['max']:.1f}) | {m['passed']}/{len(result['seeds'])} | "
            f"{result['wins'].get(name, 0)} |"
        )
    return "\n".join(lines) + "\n"
