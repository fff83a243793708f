"""The pipeline benchmark's figures: per lane, workload and worker count, the rates over the
repetitions and their ratios to the floor; the lanes paired by repetition; a short summary."""

from __future__ import annotations

import statistics
from typing import Any

from bench._stats import lower_rank, ratio_spread, spread, spread_runs
from bench.pipeline.rounds import Bench


def _stage_table(records: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, list[float]] = {}
    for record in records:
        for name, times in record["task_s"].items():
            merged.setdefault(name, []).extend(times)
    contributions = sum(r["files"] for r in records)
    table = {}
    for name, times in sorted(merged.items()):
        table[name] = {
            "tasks": len(times),
            "median_ms": round(1000 * statistics.median(times), 2),
            "p95_ms": round(1000 * lower_rank(times, 0.95), 2),
            "ms_per_contribution": round(1000 * sum(times) / contributions, 2),
        }
    return table


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = [r["files"] for r in records]
    floor = [c / r["floor_s"] for c, r in zip(n, records, strict=True)]
    e2e = [c / r["end_to_end_s"] for c, r in zip(n, records, strict=True)]
    submit_rate = [c / r["submit_s"] for c, r in zip(n, records, strict=True)]
    task_busy = [
        sum(sum(t) for t in r["task_s"].values()) / (r["workers"] * r["end_to_end_s"])
        for r in records
    ]
    status_total: dict[str, int] = {}
    for record in records:
        for status, count in record["statuses"].items():
            status_total[status] = status_total.get(status, 0) + count
    return {
        "contributions_per_round": n[0],
        "repetitions": len(records),
        "floor_files_s": spread_runs(floor, 1),
        "end_to_end_contrib_s": spread_runs(e2e),
        "end_to_end_ratio_vs_floor": ratio_spread(e2e, floor),
        "end_to_end_overhead_ms_per_contribution": spread_runs(
            [1000 * (1 / v - 1 / f) for v, f in zip(e2e, floor, strict=True)], 2
        ),
        "submit_contrib_s": spread_runs(submit_rate),
        "tail_after_submit_s": spread_runs([r["tail_s"] for r in records]),
        "submit_ms_per_contribution": {
            "stage": round(1000 * sum(r["stage_s"] for r in records) / sum(n), 3),
            "receive": round(1000 * sum(r["receive_s"] for r in records) / sum(n), 3),
        },
        "stages": _stage_table(records),
        "worker_busy_share": spread_runs(task_busy, 3),
        "worker_peak_rss_mib": round(
            max(max(r["worker_peak_rss_kib"], default=0) for r in records) / 1024, 1
        ),
        "statuses": status_total,
        "all_pinned": status_total.get("pinned", 0) == sum(n),
    }


def report(bench: Bench, workers: list[int], lane: str) -> dict[str, Any]:
    measured = [r for r in bench.rounds if r["rep"] is not None and r["lane"] == lane]
    out: dict[str, Any] = {}
    counts = [c for c in workers if any(r["workers"] == c for r in measured)]
    for kind in ("csv", "png"):
        per_kind: dict[str, Any] = {}
        for count in counts:
            records = [r for r in measured if r["kind"] == kind and r["workers"] == count]
            per_kind[str(count)] = aggregate(records)
        if len(counts) > 1:
            base = per_kind[str(counts[0])]["end_to_end_contrib_s"]["median"]
            per_kind["end_to_end_speedup_vs_first"] = {
                str(c): round(per_kind[str(c)]["end_to_end_contrib_s"]["median"] / base, 3)
                for c in counts[1:]
            }
        if kind == "png":
            per_kind["min_phash_distance"] = min(
                r["min_phash_distance"] for r in measured if r["kind"] == "png"
            )
        out[kind] = per_kind
    return out


def lane_ratios(bench: Bench) -> dict[str, Any]:
    """The first lane's end-to-end rate over each other lane's, per workload and worker
    count, paired by repetition (the pairs run minutes apart on the same machine)."""
    measured = [r for r in bench.rounds if r["rep"] is not None]
    lanes = list(dict.fromkeys(r["lane"] for r in measured))
    out: dict[str, Any] = {}
    for other in lanes[1:]:
        for kind in ("csv", "png"):
            for count in sorted({r["workers"] for r in measured}):
                pairs = []
                for rep in sorted({r["rep"] for r in measured}):
                    rates = {
                        r["lane"]: r["files"] / r["end_to_end_s"]
                        for r in measured
                        if (r["kind"], r["workers"], r["rep"]) == (kind, count, rep)
                    }
                    if {lanes[0], other} <= rates.keys():
                        pairs.append(rates[lanes[0]] / rates[other])
                if pairs:
                    out[f"{lanes[0]}_vs_{other}/{kind}_{count}w"] = spread(pairs, 3) | {
                        "pairs": len(pairs)
                    }
    return out


def human(summary_: dict[str, Any]) -> str:
    lines = []
    for lane, per_lane in summary_["pipeline_by_lane"].items():
        for kind in ("csv", "png"):
            for count, entry in per_lane[kind].items():
                if not count.isdigit():
                    continue
                lines.append(
                    f"{kind} {lane} x{count} worker(s): end to end "
                    f"{entry['end_to_end_contrib_s']['median']}/s "
                    f"({entry['end_to_end_contrib_s']['min']}-"
                    f"{entry['end_to_end_contrib_s']['max']}; x"
                    f"{entry['end_to_end_ratio_vs_floor']['median']} of the floor "
                    f"{entry['floor_files_s']['median']} files/s; overhead "
                    f"{entry['end_to_end_overhead_ms_per_contribution']['median']} ms/contribution)"
                    f", submit {entry['submit_contrib_s']['median']}/s, statuses "
                    f"{entry['statuses']}"
                )
    web = summary_["web_upload"]
    lines.append(
        f"web upload {web['upload_mib']} MiB: {web['mib_s']['median']} MiB/s "
        f"(x{web['ratio_vs_floor']['median']} of sha256+write+fsync), worker peak RSS growth "
        f"{web['worker_peak_rss_growth_mib']} MiB (target <= {web['target_growth_mib']})"
    )
    for key, ratio in summary_.get("lane_ratios", {}).items():
        lines.append(f"{key}: x{ratio['median']} end to end ({ratio['min']}-{ratio['max']})")
    lines.append(f"total {summary_['timing_s']['total']} s; ok={summary_['ok']}")
    lines.extend(f"PROBLEM: {p}" for p in summary_["problems"])
    return "\n".join(lines)
