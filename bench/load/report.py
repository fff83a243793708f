"""The load benchmark's figures from the raw samples: requests by endpoint and status,
latencies per window of the load and over the whole load, the problems that fail the run, and
the table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench._stats import dist, spread_counted
from bench.load.config import TARGET_DRAIN_S, WINDOWS, Mode

OK_STATUS = {"upload": 201, "submit": 201, "next": 200, "healthz": 200}


def short_dist(values: list[float]) -> dict[str, float]:
    """``dist`` with its milliseconds to 0.1."""
    return {k: round(v, 1) if k != "n" else v for k, v in dist(values).items()}


def requests_summary(result: dict[str, Any]) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    client_4xx: Counter[str] = Counter()
    no_answer: Counter[str] = Counter()
    fivexx: Counter[str] = Counter()
    for name, rows in result["samples"].items():
        statuses = Counter(str(status) for _, status, *_ in rows)
        endpoints[name] = {
            "requests": len(rows),
            "status": dict(sorted(statuses.items())),
            "ms_ok": short_dist([ms for ms, status, *_ in rows if status == OK_STATUS[name]]),
        }
        for _, status, reason, _ in rows:
            if status == 0:
                no_answer[f"{name}: {reason}"] += 1
            elif 400 <= status < 500:
                client_4xx[f"{name} {status} {reason}"] += 1
            elif status >= 500:
                fivexx[f"{name} {status}"] += 1
    total = sum(e["requests"] for e in endpoints.values())
    seconds = result["load_s"]
    quota = {k: n for k, n in client_4xx.items() if " 429 " in k}
    return {
        "total": total,
        "per_s": round(total / seconds, 1),
        "endpoints": endpoints,
        "5xx": sum(fivexx.values()),
        "5xx_by_endpoint": dict(fivexx),
        "4xx_by_reason": dict(client_4xx),
        "429_quota": sum(quota.values()),
        "no_answer_by_reason": dict(no_answer),
    }


def windows_summary(result: dict[str, Any], mode: Mode) -> dict[str, Any]:
    """The load after the ramp (the warm-up) cut into ``WINDOWS`` equal windows by when each
    request started; per window and endpoint the p95 of its answers and its ratio to
    ``/healthz``'s p95 in the same window; median and min–max over the windows."""
    width = (mode.duration_s - mode.ramp_s) / WINDOWS
    per: list[dict[str, list[float]]] = [{name: [] for name in OK_STATUS} for _ in range(WINDOWS)]
    for name, rows in result["samples"].items():
        for ms, status, _, started in rows:
            if status != OK_STATUS[name] or started < mode.ramp_s:
                continue
            # A submit can start just after the end (its labeler was reading): the last window.
            index = min(WINDOWS - 1, int((started - mode.ramp_s) // width))
            per[index][name].append(ms)
    windows = []
    for window in per:
        p95 = {name: dist(values)["p95"] for name, values in window.items() if values}
        windows.append(
            {
                "requests": {name: len(values) for name, values in window.items()},
                "p95_ms": {name: round(v, 1) for name, v in p95.items()},
                "p95_vs_healthz": {
                    name: round(v / p95["healthz"], 2)
                    for name, v in p95.items()
                    if name != "healthz" and p95.get("healthz")
                },
            }
        )
    return {
        "warmup_s": mode.ramp_s,
        "width_s": round(width, 1),
        "windows": windows,
        "p95_ms": {
            name: spread_counted([w["p95_ms"][name] for w in windows if name in w["p95_ms"]], 1)
            for name in OK_STATUS
        },
        "p95_vs_healthz": {
            name: spread_counted(
                [w["p95_vs_healthz"][name] for w in windows if name in w["p95_vs_healthz"]]
            )
            for name in ("next", "submit", "upload")
        },
    }


def p95_ratio(requests: dict[str, Any], name: str) -> float | None:
    p95 = requests["endpoints"][name]["ms_ok"].get("p95")
    ref = requests["endpoints"]["healthz"]["ms_ok"].get("p95")
    return round(p95 / ref, 2) if p95 and ref else None


def problems_of(summary: dict[str, Any]) -> list[str]:
    found = []
    req, checks = summary["requests"], summary["consistency"]
    if req["5xx"] or summary["server_logs"]["access_log_status"].get("5xx"):
        found.append(
            f"5xx: {req['5xx_by_endpoint']} (client), "
            f"{summary['server_logs']['access_log_status'].get('5xx', 0)} in the access log"
        )
    if req["no_answer_by_reason"]:
        found.append(f"requests without an answer: {req['no_answer_by_reason']}")
    unexpected = {k: n for k, n in req["4xx_by_reason"].items() if " 429 " not in k}
    if unexpected:
        found.append(f"unexpected 4xx: {unexpected}")
    if summary["load"]["dry_next"]:
        found.append(f"labelers found nothing to label {summary['load']['dry_next']} times")
    logs = summary["server_logs"]
    for key in ("gunicorn_tracebacks", "worker_tracebacks", "worker_errors"):
        if logs[key]:
            found.append(
                f"{logs[key]} {key.replace('_', ' ')}; the first: {logs['first_traceback']}"
            )
    contributions = checks["contributions"]
    if contributions["lost"] or contributions["stored_without_201"]:
        found.append(
            f"contributions answered 201 but not stored: {contributions['lost']}; stored "
            f"without a 201: {contributions['stored_without_201']}"
        )
    bad = {s: n for s, n in contributions["statuses"].items() if s in ("rejected", "failed")}
    if bad:
        found.append(
            f"contributions not pinned: {bad}; reasons {contributions['rejected_reasons']}, "
            f"failures {contributions['failures']}"
        )
    labels = checks["labels"]
    if labels["answered_201"] != labels["stored"]:
        found.append(
            f"labels answered 201 ({labels['answered_201']}) != stored ({labels['stored']})"
        )
    drained = summary["drain"]["seconds"]
    if drained is None or drained > TARGET_DRAIN_S:
        found.append(f"queue not drained within {TARGET_DRAIN_S:.0f} s of the end: {drained}")
    if not checks["invariants"]["ok"]:
        found.append(checks["invariants"]["violations"])
    return found


def markdown(summary: dict[str, Any]) -> str:
    load, req = summary["load"], summary["requests"]
    ends = req["endpoints"]

    def cell(name: str) -> str:
        d = ends[name]["ms_ok"]
        if not d.get("n"):
            return "none"
        return f"{d['p50']} / {d['p95']} / {d['p99']}"

    def worker(name: str) -> str:
        d = summary["server_logs"]["in_worker_ms"].get(name, {})
        return f"{d['p50']} / {d['p95']}" if d.get("n") else "none"

    drain = summary["drain"]
    win = summary["windows"]

    def ratio(name: str) -> str:
        r = win["p95_vs_healthz"][name]
        if not r.get("n"):
            return "none"
        whole = summary["ratios"][f"{name}_p95_vs_healthz"]
        return f"{r['median']} ({r['min']}–{r['max']}; {r['n']} windows); whole load {whole}"

    lines = [
        f"{load['contributors']} contributors + {load['labelers']} labelers for "
        f"{load['duration_s']:.0f} s against {summary['server']}; {summary['workers']}. "
        f"Machine {100 * summary['cpu']['machine_busy_share']:.0f} % busy during the load "
        f"({summary['cpus']} CPUs, shared: figures under contention).",
        "",
        f"Ratios: per window of {win['width_s']} s after a {win['warmup_s']:.0f} s ramp, median "
        "(min–max) over the windows.",
        "",
        "| figure | client p50 / p95 / p99 ms | p95 / healthz p95 | in the worker p50 / p95 ms |",
        "| --- | --- | --- | --- |",
        f"| `next` ({ends['next']['ms_ok']['n']} with a task) | {cell('next')} | "
        f"{ratio('next')} | {worker('next')} |",
        f"| submit ({ends['submit']['ms_ok']['n']}) | {cell('submit')} | "
        f"{ratio('submit')} | {worker('submit')} |",
        f"| upload accept ({ends['upload']['ms_ok']['n']}) | {cell('upload')} | "
        f"{ratio('upload')} | {worker('upload')} |",
        f"| `/healthz` (reference) | {cell('healthz')} | 1 | {worker('healthz')} |",
        f"| requests | {req['total']} ({req['per_s']}/s); 5xx {req['5xx']}; 4xx "
        f"{req['4xx_by_reason'] or 0}; 429 quota {req['429_quota']}; no answer "
        f"{req['no_answer_by_reason'] or 0} | | |",
        f"| throughput | {summary['throughput']['uploads_accepted_per_s']} uploads accepted/s, "
        f"{summary['throughput']['labels_per_s']} labels/s | | |",
        f"| drain after the end | "
        f"{'NOT drained' if drain['seconds'] is None else str(drain['seconds']) + ' s'} "
        f"(target ≤ {TARGET_DRAIN_S:.0f} s); backlog first seen "
        f"{drain['at_first_poll']['unfinished_contributions']} unfinished, broker "
        f"{drain['at_first_poll']['broker']} | | |",
        f"| invariants | {'pass' if summary['consistency']['invariants']['ok'] else 'FAIL'}: "
        f"{summary['consistency']['contributions']['statuses']} | | |",
    ]
    lines += [f"PROBLEM: {p}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"
