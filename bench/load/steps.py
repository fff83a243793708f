"""``python -m bench.load --step 50,100,200,300,500``: the load stepped up, to find its knee.

Each step is a whole run of ``bench.load`` (its own database, broker, servers, drain and
checks) with that many contributors and as many labelers, shorter than the full run
(``--duration``, 40 s by default, ramp 10 s, then 5 windows). Every step runs on each stack of
``--stacks`` in turn: ``baseline`` (2 sync gunicorn workers, direct to PostgreSQL, prefetch 1)
and ``tuned`` (``config.TUNED``: gthread workers, pgbouncer in transaction mode, a larger
prefetch), so the two are measured in the same run, on the same machine under the same
neighbours, step by step: baseline 50, tuned 50, baseline 100, ...

Per step: the p95 (ms, median over the windows) of ``next``, submit, upload accept and of
``/healthz`` measured in the same windows, and each ratio to ``/healthz``; 5xx (client and
access log) and requests without an answer; the drain after the load; the invariants; the
machine's 1-minute load average before and after the load and its busy share. The knee of a
stack is its first step where the p95 ratio of ``next`` or submit exceeds ``KNEE_RATIO`` or a 5xx
appears (upload, whose own work puts it over at any load, is reported apart); the steps of
a stack stop after its knee (``--past-knee N`` runs N more).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load.config import BASELINE, POOLED, PREFETCH, THREADED, TUNED, Mode, Stack

ROOT = Path(__file__).resolve().parent.parent.parent

KNEE_RATIO = 2.0
STEP_DURATION_S = 40.0
STEP_RAMP_S = 10.0
STEP_DRAIN_LIMIT_S = 90.0
ENDPOINTS = ("next", "submit", "upload")
# The endpoints the knee is judged on. An upload's own work (the file written, the CSV read,
# the row and the queued message) makes its p95 2-4x /healthz's at any load, so it would put
# the knee at the first step: its ratio is reported (``upload_over``) apart.
LABELING = ("next", "submit")
STACKS = {stack.name: stack for stack in (BASELINE, TUNED, THREADED, POOLED, PREFETCH)}


def parse_steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("give user counts, e.g. 50,100,200") from None
    if not steps or min(steps) < 1 or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError("give positive user counts in increasing order")
    return steps


def parse_stack(text: str) -> Stack:
    return parse_stacks(text)[0]


def parse_stacks(text: str) -> list[Stack]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in STACKS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"stacks are {', '.join(STACKS)}; not {unknown}")
    return [STACKS[name] for name in names]


def step_mode(users: int, args: argparse.Namespace) -> Mode:
    duration = args.duration or STEP_DURATION_S
    # Enough items that nobody runs dry: a labeler answers at most every think time's low end,
    # each item takes 3 answers.
    labels = users * _per_user(duration, args.labeler_think[0])
    return Mode(
        contributors=users, labelers=users, duration_s=duration,
        tasks=max(1_000, labels // 3 + users * 3), ramp_s=STEP_RAMP_S,
        drain_limit_s=args.drain_limit or STEP_DRAIN_LIMIT_S, probe_interval_s=0.25,
    )  # fmt: skip


def _per_user(duration_s: float, low_s: float) -> int:
    return int(duration_s / max(low_s, 0.05)) + 1


def step_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of one step's run."""
    windows = summary["windows"]
    p95 = {name: windows["p95_ms"][name].get("median") for name in (*ENDPOINTS, "healthz")}
    ratios = {name: windows["p95_vs_healthz"][name].get("median") for name in ENDPOINTS}
    fivexx = max(
        summary["requests"]["5xx"], summary["server_logs"]["access_log_status"].get("5xx", 0)
    )
    labeling = [ratios[name] for name in LABELING if ratios[name] is not None]
    worst = max(labeling, default=None)
    upload = ratios["upload"]
    return {
        "stack": summary["stack"],
        "users": summary["load"]["contributors"],
        "p95_ms": p95,
        "p95_vs_healthz": ratios,
        "worst_ratio": worst,
        "5xx": fivexx,
        "no_answer": sum(summary["requests"]["no_answer_by_reason"].values()),
        "requests_per_s": summary["requests"]["per_s"],
        "labels_per_s": summary["throughput"]["labels_per_s"],
        "uploads_per_s": summary["throughput"]["uploads_accepted_per_s"],
        "drain_s": summary["drain"]["seconds"],
        "invariants_ok": summary["consistency"]["invariants"]["ok"],
        "loadavg_1m": summary["cpu"]["loadavg_1m"],
        "machine_busy_share": summary["cpu"]["machine_busy_share"],
        "generator_cpu_s": summary["cpu"]["load_generator_s"],
        "problems": summary["problems"],
        "knee": bool(fivexx) or (worst is not None and worst > KNEE_RATIO),
        "upload_over": upload is not None and upload > KNEE_RATIO,
    }


def run_step(args: argparse.Namespace, users: int, stack: Stack) -> dict[str, Any]:
    """One step: ``python -m bench.load`` in a process of its own (Django and Celery configure
    themselves once per process, on the run's data folder and broker); its summary."""
    with tempfile.TemporaryDirectory(prefix="bench-load-step-") as folder:
        out = Path(folder) / "summary.json"
        argv = [
            sys.executable, "-m", "bench.load", "--stepped", "--contributors", str(users),
            "--labelers", str(users), "--stack", stack.name, "--json", str(out),
            "--contributor-wait", ",".join(map(str, args.contributor_wait)),
            "--labeler-think", ",".join(map(str, args.labeler_think)),
            *(["--duration", str(args.duration)] if args.duration else []),
            *(["--drain-limit", str(args.drain_limit)] if args.drain_limit else []),
            *(["--keep"] if args.keep else []),
        ]  # fmt: skip
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        if not out.exists():
            raise RuntimeError(f"exit {done.returncode}: {done.stderr[-2000:]}")
        return dict(json.loads(out.read_text()))


def run_steps(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, int, Stack], dict[str, Any]] = run_step,
) -> dict[str, Any]:
    """Every step on every stack (interleaved: a step on each stack, then the next step);
    ``run(args, users, stack)`` is one whole run's summary (``run_step``)."""
    rows: list[dict[str, Any]] = []
    past: dict[str, int | None] = {stack.name: None for stack in args.stacks}
    for users in args.step:
        for stack in args.stacks:
            if past[stack.name] is not None and past[stack.name] >= args.past_knee:  # type: ignore[operator]
                continue
            print(f"step {users}+{users} on {stack.name}", file=sys.stderr)
            started = time.perf_counter()
            try:
                row = step_row(run(args, users, stack))
            except Exception as exc:  # a step that cannot finish is the knee of its stack
                row = {"stack": stack.name, "users": users, "error": str(exc)[-2000:], "knee": True}
            row["step_s"] = round(time.perf_counter() - started, 1)
            rows.append(row)
            print(_line(row), file=sys.stderr, flush=True)
            if past[stack.name] is not None:
                past[stack.name] += 1  # type: ignore[operator]
            elif row["knee"]:
                past[stack.name] = 0
    knees = {}
    for stack in args.stacks:
        mine = [row for row in rows if row["stack"] == stack.name]
        knee = next((row["users"] for row in mine if row["knee"]), None)
        strict = next((r["users"] for r in mine if r["knee"] or r.get("upload_over")), None)
        knees[stack.name] = {
            "knee_users": knee,
            "knee_users_counting_upload": strict,
            "most_without_knee": max((r["users"] for r in mine if not r["knee"]), default=None),
            "server": stack.describe(),
        }
    return {
        "benchmark": "load-steps",
        "knee_rule": (
            f"first step with a next or submit p95 over {KNEE_RATIO:g}x /healthz's, or a 5xx"
        ),
        "steps": args.step,
        "duration_s": step_mode(args.step[0], args).duration_s,
        "knees": knees,
        "rows": rows,
        "problems": [f"{r['stack']} {r['users']}: {p}" for r in rows for p in r.get("problems", [])]
        + [f"{r['stack']} {r['users']}: {r['error']}" for r in rows if "error" in r],
    }


def _cell(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"  {row['stack']} {row['users']}: did not finish: {row['error'][-300:]}"
    p95 = row["p95_ms"]
    return (
        f"  {row['stack']} {row['users']}: p95 ms next {_cell(p95['next'])} submit "
        f"{_cell(p95['submit'])} upload {_cell(p95['upload'])} healthz {_cell(p95['healthz'])}; "
        f"worst ratio {_cell(row['worst_ratio'], 2)}; 5xx {row['5xx']}; drain "
        f"{_cell(row['drain_s'], 1)} s; invariants {'ok' if row['invariants_ok'] else 'FAIL'}; "
        f"load {row['loadavg_1m']}{' KNEE' if row['knee'] else ''}"
    )


def _over(value: float | None, reference: float | None) -> float | None:
    return value / reference if value and reference else None


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"Knee: {summary['knee_rule']}. Steps of {summary['duration_s']:.0f} s; p95 in ms "
        "(median over 5 windows), ratio to /healthz's p95 in the same windows.",
        "",
        "| stack | users (each) | next p95 | submit p95 | upload p95 | /healthz p95 | "
        "/healthz vs first step | ratios n/s/u | 5xx | no answer | req/s | drain s | invariants "
        "| load 1m | knee |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # The queueing every request shares (the ratios cancel it): /healthz's p95 over its p95 at
    # the stack's first step.
    first: dict[str, float] = {}
    for row in summary["rows"]:
        if "error" not in row and row["p95_ms"]["healthz"]:
            first.setdefault(row["stack"], row["p95_ms"]["healthz"])
    for row in summary["rows"]:
        if "error" in row:
            lines.append(f"| {row['stack']} | {row['users']} | did not finish |{' |' * 11} knee |")
            continue
        p95, ratio = row["p95_ms"], row["p95_vs_healthz"]
        lines.append(
            f"| {row['stack']} | {row['users']} | {_cell(p95['next'])} | {_cell(p95['submit'])} "
            f"| {_cell(p95['upload'])} | {_cell(p95['healthz'])} | "
            f"{_cell(_over(p95['healthz'], first.get(row['stack'])), 1)}x | "
            + "/".join(_cell(ratio[name], 1) for name in ENDPOINTS)
            + f" | {row['5xx']} | {row['no_answer']} | {_cell(row['requests_per_s'], 1)} | "
            f"{_cell(row['drain_s'], 1)} | {'ok' if row['invariants_ok'] else 'FAIL'} | "
            f"{row['loadavg_1m'][0]}→{row['loadavg_1m'][1]} | "
            f"{'**knee**' if row['knee'] else ''}{' (upload)' if row['upload_over'] else ''} |"
        )
    lines.append("")
    for name, knee in summary["knees"].items():
        lines.append(
            f"- {name} ({knee['server']}): knee at {_cell(knee['knee_users'])} + "
            f"{_cell(knee['knee_users'])}; most without one {_cell(knee['most_without_knee'])}; "
            f"counting upload's ratio too: {_cell(knee['knee_users_counting_upload'])}"
        )
    return "\n".join(lines) + "\n"
