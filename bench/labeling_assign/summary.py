"""The labeling benchmark's figures from its rounds: latencies per round and over rounds, their
ratios to the same round's floors, throughput, CPU, the time per SQL statement with the plans
of the slow ones, the database checks and the problems."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench._db import database_context, redis_size
from bench._stats import dist, nearest_rank, spread_runs
from bench.labeling_assign.config import (
    DATABASE_SETTINGS,
    PLAN_SLOWER_THAN_MS,
    REDIS_DB,
    SEED,
    TARGET_NEXT_P95_MS,
    TARGET_TASKS,
    Plan,
)
from bench.labeling_assign.database import explain
from bench.labeling_assign.drive import Measured

Rounds = list[list[dict[str, Any]]]

# Each latency reported, from one labeler's result of a round.
SERIES: dict[str, Callable[[dict[str, Any]], list[float]]] = {
    "next": lambda r: r["next"],
    "next_ordinary": lambda r: [m for m, g in zip(r["next"], r["gold"], strict=True) if not g],
    "next_gold": lambda r: [m for m, g in zip(r["next"], r["gold"], strict=True) if g],
    "submit": lambda r: r["submit"],
    "select_1": lambda r: r["select_1"],
    "commit_1": lambda r: r["commit_1"],
}


def per_round_dists(rounds: Rounds) -> list[dict[str, dict[str, float]]]:
    """Per measured round, each series' distribution over every labeler's samples."""
    return [
        {name: dist([v for r in rr for v in get(r)]) for name, get in SERIES.items()}
        for rr in rounds
    ]


def latency(dists: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Per series: calls per round and p50/p95/p99 as median (min–max) over the rounds."""
    out: dict[str, Any] = {}
    for name in SERIES:
        entry: dict[str, Any] = {"calls_per_round": dists[0][name].get("n", 0)}
        for q in ("p50", "p95", "p99"):
            values = [d[name][q] for d in dists if d[name].get("n")]
            if values:
                entry[q] = spread_runs(values, 3)
        out[name] = entry
    return out


def ratios(dists: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Each p95 over a floor's p95 of the same round, over the rounds."""

    def ratio(a: str, b: str) -> dict[str, Any]:
        return spread_runs([d[a]["p95"] / d[b]["p95"] for d in dists], 2)

    return {
        "next_p95_vs_select_1_p95": ratio("next", "select_1"),
        "next_p95_vs_commit_1_p95": ratio("next", "commit_1"),
        "submit_p95_vs_commit_1_p95": ratio("submit", "commit_1"),
    }


def cpu(rounds: Rounds, phase_s: list[dict[str, float]]) -> dict[str, Any]:
    """CPU per next+submit cycle on both sides, and the machine's load during the label phase."""
    per_cycle_rounds = [sum(len(r["next"]) for r in rr) or 1 for rr in rounds]
    out = {
        "client_next_ms": dist([v for rr in rounds for r in rr for v in r["next_cpu"]]),
        "client_submit_ms": dist([v for rr in rounds for r in rr for v in r["submit_cpu"]]),
        "client_ms_per_cycle": spread_runs(
            [1000 * sum(r["client_cpu_s"] for r in rr) / n
             for rr, n in zip(rounds, per_cycle_rounds, strict=True)], 2,
        ),
        "server_ms_per_cycle": spread_runs(
            [1000 * sum(r["server_cpu_s"] for r in rr) / n
             for rr, n in zip(rounds, per_cycle_rounds, strict=True)], 2,
        ),
        "machine_busy_share_label_phase": spread_runs([t["machine_busy"] for t in phase_s], 3),
        "loadavg_1m_after_label_phase": spread_runs([t["loadavg_1m"] for t in phase_s], 1),
    }  # fmt: skip
    for key in ("client_next_ms", "client_submit_ms"):
        out[key] = {k: round(v, 3) for k, v in out[key].items()}
    return out


def statements(rounds: Rounds, ops_count: dict[str, int]) -> dict[str, Any]:
    """Per operation, each kind of SQL statement: calls per operation, mean and p95 ms, and the
    ms it adds to each operation; the costliest first."""
    merged: dict[str, dict[str, list[float]]] = {}
    for per_round in rounds:
        for result in per_round:
            for op, kinds in result["statements"].items():
                for kind, times in kinds.items():
                    merged.setdefault(op, {}).setdefault(kind, []).extend(times)
    table: dict[str, Any] = {}
    for op, kinds in merged.items():
        calls = ops_count[op] or 1
        rows = []
        for kind, times in kinds.items():
            rows.append(
                {
                    "statement": kind,
                    "per_call": round(len(times) / calls, 3),
                    "mean_ms": round(statistics.fmean(times), 3),
                    "p95_ms": round(nearest_rank(times, 0.95), 3),
                    "ms_per_call": round(sum(times) / calls, 3),
                }
            )
        table[op] = sorted(rows, key=lambda r: -r["ms_per_call"])
    return table


def plans(rounds: Rounds, table: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN of the candidate queries and of every statement slower than
    PLAN_SLOWER_THAN_MS at p95, with the text and parameters the last round kept."""
    samples: dict[str, dict[str, tuple[str, Any]]] = {}
    for r in rounds[-1]:
        for op, kinds in r["samples"].items():
            for kind, sample in kinds.items():
                samples.setdefault(op, {}).setdefault(kind, tuple(sample))
    slow = {
        row["statement"] for rows in table.values() for row in rows
        if row["p95_ms"] > PLAN_SLOWER_THAN_MS and row["statement"] != "COMMIT"
    }  # fmt: skip
    return explain(samples, slow)


def database_checks(dataset_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Tasks whose counters disagree with their rows (by kind), and tasks by status."""
    from django.db import connection

    from bench.labeling_assign.data import check_counters

    with connection.cursor() as cursor:
        counters = check_counters(cursor, dataset_id)
        cursor.execute(
            "SELECT status, count(*) FROM labeling_labeltask WHERE dataset_id = %s GROUP BY 1",
            [dataset_id],
        )
        task_status = dict(cursor.fetchall())
    return counters, task_status


def problems(
    rounds: Rounds, counters: dict[str, int], settler_report: dict[str, Any] | None
) -> list[str]:
    """Refusals, a labeler out of tasks, inconsistent counters, a failed settler, anything in
    the broker: each makes the run fail."""
    found = []
    refusals = [x for rr in rounds for r in rr for x in r["refusals"]]
    if refusals:
        found.append(f"{len(refusals)} refusals, e.g. {refusals[0]}")
    if any(r["exhausted"] for rr in rounds for r in rr):
        found.append("a labeler ran out of tasks")
    if any(counters.values()):
        found.append(f"inconsistent task counters: {counters}")
    if settler_report and "error" in settler_report:
        found.append(f"the settler failed: {settler_report['error'][-500:]}")
    broker = redis_size(REDIS_DB, flush=False)
    if broker:
        found.append(f"{broker} keys in the broker's Redis db {REDIS_DB}: something dispatched")
    return found


def summarise(
    args: argparse.Namespace, plan: Plan, meta: dict[str, Any], measured: Measured, started: float
) -> dict[str, Any]:
    rounds, phase_s = measured.rounds, measured.phase_s
    dists = per_round_dists(rounds)
    latency_ms = latency(dists)
    labels_per_s = [
        sum(len(r["submit"]) for r in rr) / t["label"]
        for rr, t in zip(rounds, phase_s, strict=True)
    ]
    cycles = sum(len(r["next"]) for rr in rounds for r in rr)
    statements_ms = statements(rounds, {"next": cycles, "submit": cycles})
    explained = plans(rounds, statements_ms)
    counters, task_status = database_checks(meta["dataset_id"])
    context = database_context(DATABASE_SETTINGS)
    found = problems(rounds, counters, measured.settler_report)
    next_p95 = latency_ms["next"]["p95"]["median"]
    shape = meta["shape"]
    return {
        "benchmark": "labeling_assign",
        "mode": "quick" if args.quick else "full",
        "seed": SEED,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "database": context,
        "settings": "config.settings (production), persistent connections",
        "repetitions": {"measured": plan.repeat, "warmup": 1, "of": "rounds of every labeler"},
        "data": {
            "tasks": shape["tasks"],
            "gold_tasks": shape["gold"],
            "labelers_in_db": shape["labelers"],
            "rows": meta["rows"],
            "schema": meta["schema"],
            "task_status_after": task_status,
        },
        "run": {
            "concurrent_labelers": args.labelers,
            "as": "processes, one connection each, closed loop (no think time)",
            "cycles_per_labeler_per_round": plan.iterations,
            "warmup_cycles": plan.warmup,
            "repeat": plan.repeat,
            "floor_calls_per_labeler": plan.floor,
            "think_ms_mean": plan.think_ms,
            "order": meta["schema"].get("order", "arrival"),
            "consensus": (
                "worker: one process runs task_consensus_update per answer"
                if args.consensus == "worker"
                else "off: dispatch_task_consensus is a no-op, filled tasks stay open"
            ),
            "settler": measured.settler_report,
            "settler_catch_up_s": spread_runs(measured.settle_wait, 2),
        },
        "latency_ms": latency_ms,
        "ratios": ratios(dists),
        "throughput": {
            "labels_per_s": spread_runs(labels_per_s, 1),
            "label_phase_s": spread_runs([t["label"] for t in phase_s], 2),
        },
        "cpu": cpu(rounds, phase_s),
        "statements_ms": statements_ms,
        "plans": explained,
        "counters_inconsistent": counters,
        "target": {
            "next_p95_ms": next_p95,
            "target_ms": TARGET_NEXT_P95_MS,
            "at_tasks": shape["tasks"],
            "met": next_p95 <= TARGET_NEXT_P95_MS,
            "applies": shape["tasks"] >= TARGET_TASKS,
        },
        "timing_s": meta["timing_s"] | {"total": round(time.perf_counter() - started, 1)},
        "problems": found,
        "ok": not found,
    }
