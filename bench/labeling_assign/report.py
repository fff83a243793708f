"""The labeling benchmark's table (Markdown)."""

from __future__ import annotations

import re
from typing import Any

from bench.labeling_assign.config import TARGET_TASKS


def markdown(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    ratios = summary["ratios"]
    data = summary["data"]
    run_ = summary["run"]

    def cell(name: str, q: str) -> str:
        value = lat[name].get(q)
        if value is None:
            return "-"
        return f"{value['median']:.2f} ({value['min']:.2f}–{value['max']:.2f})"

    rows = [
        f"Tasks {data['tasks']:,} ({data['gold_tasks']:,} gold), labels "
        f"{data['rows']['label']:,}, holds {data['rows']['assignment']:,}; "
        f"{run_['concurrent_labelers']} labeler processes, {run_['cycles_per_labeler_per_round']} "
        f"cycles each per round, median (min–max) of {run_['repeat']} rounds; consensus "
        f"{run_['consensus'].split(':')[0]}. PostgreSQL {summary['database']['server_version']}, "
        f"{summary['cpus']} CPUs.",
        "",
        "| call | p50 ms | p95 ms | p99 ms | calls/round |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ("next", "next_ordinary", "next_gold", "submit", "select_1", "commit_1"):
        rows.append(
            f"| {name} | {cell(name, 'p50')} | {cell(name, 'p95')} | {cell(name, 'p99')} | "
            f"{lat[name]['calls_per_round']} |"
        )
    target = summary["target"]
    rows += [
        "",
        f"next p95 / select_1 p95: {ratios['next_p95_vs_select_1_p95']['median']}x; "
        f"next p95 / commit_1 p95: {ratios['next_p95_vs_commit_1_p95']['median']}x; "
        f"submit p95 / commit_1 p95: {ratios['submit_p95_vs_commit_1_p95']['median']}x.",
        f"Submit throughput: {summary['throughput']['labels_per_s']['median']} labels/s "
        f"(min {summary['throughput']['labels_per_s']['min']}, max "
        f"{summary['throughput']['labels_per_s']['max']}).",
        f"Target next p95 <= {target['target_ms']} ms at {TARGET_TASKS:,} tasks: "
        + (
            ("met" if target["met"] else "NOT met") + f" ({target['next_p95_ms']} ms)"
            if target["applies"]
            else f"not applicable at {target['at_tasks']:,} tasks ({target['next_p95_ms']} ms)"
        ),
        f"CPU per next+submit cycle: client {summary['cpu']['client_ms_per_cycle']['median']} ms "
        f"(next {summary['cpu']['client_next_ms'].get('mean')}, submit "
        f"{summary['cpu']['client_submit_ms'].get('mean')}), server "
        f"{summary['cpu']['server_ms_per_cycle']['median']} ms; machine "
        f"{100 * summary['cpu']['machine_busy_share_label_phase']['median']:.0f}% busy, load "
        f"{summary['cpu']['loadavg_1m_after_label_phase']['median']} during the label phase.",
        f"Timing (s): {summary['timing_s']}.",
        "",
        "| op | statement | per call | mean ms | p95 ms | ms per call |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for op, table in summary["statements_ms"].items():
        for row in table:
            rows.append(
                f"| {op} | {row['statement']} | {row['per_call']} | {row['mean_ms']} | "
                f"{row['p95_ms']} | {row['ms_per_call']} |"
            )
    if summary["plans"]:
        rows += ["", "EXPLAIN ANALYZE (warm, rolled back):", ""]
        for kind, found in summary["plans"].items():
            buffers = re.search(r"Buffers: shared hit=(\d+)", "\n".join(found.get("plan", [])))
            rows.append(
                f"- {kind}: {found.get('execution_ms', found.get('error'))} ms, "
                f"{buffers.group(1) if buffers else '?'} buffers hit"
            )
    if summary["problems"]:
        rows += ["", *[f"PROBLEM: {p}" for p in summary["problems"]]]
    return "\n".join(rows) + "\n"
