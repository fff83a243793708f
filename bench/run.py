"""Run every benchmark in ``bench/`` and gather their figures into one JSON file and one table.

``python -m bench [--quick] [--only NAME,...] [--json bench/results.json]
[--markdown bench/results.md]``; ``python -m bench --merge A.json B.json ...`` combines runs made
in parts. Each benchmark runs as ``python -m bench.<name> [--quick]
--json <tmp>`` in its own subprocess and session (a crash or a memory peak in one does not touch
the others) under a timeout; on timeout it gets SIGINT (its own clean-up runs), then SIGKILL.
Its figures are the ones it computed itself: ratios against a reference measured in the same
run, with median/min/max over its repetitions (5 after a warm-up, unless a benchmark says
otherwise); absolute figures are context. The table gives each benchmark's repetitions (from
its summary's ``repetitions``: measured, warm-up, and of what) and its wall time, and the header
the run's total wall time; a quick run over its 5-minute budget (``QUICK_BUDGET_S``) is flagged
there and in the JSON (``over_quick_budget``). The quick timeouts are about three times each
benchmark's quick time on a 2-core machine. The peak RSS of its process tree comes from
``wait4`` (the largest single process: the benchmark or one of its children). The js-ipfs node
of ``tests/ipfsnode`` is started for ``ipfs_cid`` when installed, as its peer. Exit status 1
when any benchmark failed or timed out (the table says which).

Each benchmark's rows of the table come from ``bench/_rows.py``. What the benchmarks share:
``bench/_procs.py`` (the processes they start, and what a process costs), ``bench/_db.py``
(their databases and settings), ``bench/_stats.py`` (percentiles, median and min–max) and
``bench/_report.py`` (how a summary is handed back).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._procs import ipfs_peer
from bench._rows import (
    Row,
    assign_rows,
    chain_rows,
    consensus_rows,
    ipfs_rows,
    load_rows,
    pipeline_rows,
    replay_rows,
    rewards_rows,
    sealing_rows,
    synthetic_rows,
    types_rows,
    web_rows,
)
from bench._rows_scale import labeling_run_rows, near_rows, rewards_epoch_rows

ROOT = Path(__file__).resolve().parent.parent
QUICK_BUDGET_S = 300  # the whole quick run
MIN_REPETITIONS = 5


@dataclass(frozen=True)
class Spec:
    name: str
    what: str
    timeout_quick: int
    timeout_full: int
    rows: Callable[[dict[str, Any]], list[Row]]
    extra_args: tuple[str, ...] = ()


# Quick timeouts: three to five times each benchmark's quick time on a 2-core machine (20, 20,
# 30, 10, 45, 45, 45, 40, 30 and 15 s: 300 s in all, within QUICK_BUDGET_S), so a slow or
# shared machine still finishes and a hang costs minutes, not the whole run.
BENCHMARKS = [
    Spec("ipfs_cid", "CID vs sha256 vs js-ipfs", 60, 1800, ipfs_rows),
    Spec("labeling_consensus", "Dawid–Skene vs crowd-kit", 60, 1800, consensus_rows),
    Spec("labeling_types", "boxes, spans, pairwise, text vs baselines", 60, 900, types_rows),
    Spec("rewards_merkle", "Merkle tree + proofs vs OpenZeppelin JS", 90, 3600, rewards_rows),
    Spec("sealing", "encryption at rest vs the upload floor", 40, 900, sealing_rows),
    Spec("synthetic", "tabular GAN vs ctgan", 150, 3600, synthetic_rows),
    Spec("pipeline", "contributions/s end to end", 150, 3600, pipeline_rows),
    Spec("labeling_assign", "labeling `next` on PostgreSQL", 150, 3600, assign_rows),
    Spec("web", "web pages over HTTP (gunicorn)", 120, 3600, web_rows),
    Spec("load", "contributors and labelers at once (locust)", 90, 1200, load_rows),
    Spec("chain", "relay and chain reader vs eth_getLogs (Hardhat)", 90, 900, chain_rows),
    Spec("replay", "release replay vs the pipeline that made it", 60, 1800, replay_rows),
    Spec("near_duplicates", "near-duplicate search vs the window read", 90, 1800, near_rows),
    Spec("labeling_run", "a Dawid–Skene run end to end on PostgreSQL", 90, 3600, labeling_run_rows),
    Spec(
        "rewards_epoch",
        "an epoch close of 1M allocations in PostgreSQL",
        120,
        3600,
        rewards_epoch_rows,
    ),
]


def repetitions(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A benchmark's repetitions: its ``repetitions`` (measured, warmup, of what), or, for a
    summary without it, what its ``repeat`` or ``run.repeat`` / ``run.rounds`` says."""
    if not summary:
        return None
    found = summary.get("repetitions")
    if isinstance(found, dict) and "measured" in found:
        return found
    run = summary.get("run") if isinstance(summary.get("run"), dict) else {}
    for value in (summary.get("repeat"), run.get("repeat"), run.get("rounds")):
        if isinstance(value, int):
            return {"measured": value}
    return None


def _repetitions_text(reps: dict[str, Any] | None) -> str:
    if reps is None:
        return "?"
    text = str(reps["measured"])
    if reps.get("warmup"):
        text += f" after {reps['warmup']} warm-up"
    if reps.get("of"):
        text += f" ({reps['of']})"
    if reps["measured"] < MIN_REPETITIONS:
        text += f" **fewer than {MIN_REPETITIONS}**"
    return text


def run_one(spec: Spec, quick: bool, workdir: Path) -> dict[str, Any]:
    out_json = workdir / f"{spec.name}.json"
    stdout_path = workdir / f"{spec.name}.stdout"
    stderr_path = workdir / f"{spec.name}.stderr"
    timeout = spec.timeout_quick if quick else spec.timeout_full
    args = [*(["--quick"] if quick else []), *spec.extra_args, "--json", str(out_json)]
    started = time.perf_counter()
    status = "ok"
    with open(stdout_path, "wb") as out, open(stderr_path, "w") as err:
        peer = ipfs_peer(err) if spec.name == "ipfs_cid" else contextlib.nullcontext([])
        with peer as peer_args:
            err.flush()
            proc = subprocess.Popen(
                [sys.executable, "-m", f"bench.{spec.name}", *args, *peer_args],
                cwd=ROOT, stdout=out, stderr=err, start_new_session=True,
            )  # fmt: skip
            timed_out = threading.Event()

            def stop() -> None:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)  # its finally blocks clean up
                time.sleep(30)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
            try:
                _, wait_status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(wait_status)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "name": spec.name,
        "what": spec.what,
        "command": f"python -m bench.{spec.name} {' '.join(args[:-2])}".strip(),
        "seconds": round(seconds, 1),
        "exit_status": proc.returncode,
        # ru_maxrss (KiB on Linux): the largest single process of its tree that was waited for.
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }
    summary = None
    if out_json.exists():
        with contextlib.suppress(ValueError):
            summary = json.loads(out_json.read_text())
    if timed_out.is_set():
        status = f"timed out after {timeout} s"
    elif proc.returncode != 0:
        status = f"failed (exit status {proc.returncode})"
    elif summary is None:
        status = "failed (no JSON summary)"
    rows: list[Row] = []
    if summary is not None:
        try:
            rows = spec.rows(summary)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            status = f"failed (summary unreadable: {exc!r})"
        problems = summary.get("problems") or []
        if problems:
            result["problems"] = problems
    if status != "ok":
        result["stderr_tail"] = stderr_path.read_text(errors="replace")[-4000:]
    result.update(
        status=status,
        repetitions=repetitions(summary),
        rows=[list(r) for r in rows],
        summary=summary,
    )
    print(f"{spec.name}: {status} in {seconds:.0f} s", file=sys.stderr)
    for row in rows:
        print(f"  {row[0]}: {row[1]} | {row[2]} | {row[3]}", file=sys.stderr)
    if status != "ok":
        print(result["stderr_tail"][-1500:], file=sys.stderr)
    return result


def over_budget(report: dict[str, Any]) -> bool:
    return bool(report["quick"]) and report["seconds"] > QUICK_BUDGET_S


def markdown(report: dict[str, Any]) -> str:
    total = f"{report['seconds']:.0f} s in all"
    if report["quick"]:
        total += (
            f": **OVER the {QUICK_BUDGET_S} s quick budget**"
            if over_budget(report)
            else f", within the {QUICK_BUDGET_S} s quick budget"
        )
    lines = [
        f"`python -m bench{' --quick' if report['quick'] else ''}` on {report['started_at']}: "
        f"{report['cpus']} CPUs ({report['machine']}), Python {report['python']}; {total}.",
        "",
        "| benchmark | figure | ratio (same-run reference) | absolute (context) | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for b in report["benchmarks"]:
        if b["status"] != "ok":
            lines.append(f"| {b['name']} | **{b['status'].upper()}** | | {b['seconds']:.0f} s | |")
        for figure, ratio, absolute, target in b["rows"]:
            lines.append(f"| {b['name']} | {figure} | {ratio} | {absolute} | {target} |")
    lines += [
        "",
        "| benchmark | status | repetitions | seconds | peak RSS of its largest process (MiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for b in report["benchmarks"]:
        reps = _repetitions_text(b.get("repetitions", repetitions(b.get("summary"))))
        lines.append(
            f"| {b['name']} | {b['status']} | {reps} | {b['seconds']:.0f} | {b['peak_rss_mib']} |"
        )
    flag = " **over budget**" if over_budget(report) else ""
    lines.append(f"| all | | | {report['seconds']:.0f}{flag} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    names = [s.name for s in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick size")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(names)}")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "bench" / "results.json", help="the full results"
    )
    parser.add_argument(
        "--markdown", type=Path, default=ROOT / "bench" / "results.md", help="the table"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="run nothing: combine the results files of runs made in parts (--only) into one",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return _write(merge_reports([json.loads(path.read_text()) for path in args.merge]), args)
    chosen = BENCHMARKS
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
        chosen = [s for s in BENCHMARKS if s.name in wanted]
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        for spec in chosen:
            results.append(run_one(spec, args.quick, Path(tmp)))
    report = {
        "quick": args.quick,
        "started_at": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "benchmarks": results,
        "ok": all(r["status"] == "ok" for r in results),
    }
    return _write(report, args)


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from runs made in parts, in order; each figure keeps its own run's references
    (the ratios were computed within each benchmark), and the header names every part's start."""
    if len({r["quick"] for r in reports}) != 1:
        raise SystemExit("cannot merge quick and full runs")
    return {
        "quick": reports[0]["quick"],
        "started_at": ", ".join(r["started_at"] for r in reports),
        "seconds": round(sum(r["seconds"] for r in reports), 1),
        "python": reports[0]["python"],
        "machine": reports[0]["machine"],
        "cpus": reports[0]["cpus"],
        "benchmarks": [b for r in reports for b in r["benchmarks"]],
        "ok": all(r["ok"] for r in reports),
    }


def _write(report: dict[str, Any], args: argparse.Namespace) -> int:
    if report["quick"]:
        report["quick_budget_s"] = QUICK_BUDGET_S
        report["over_quick_budget"] = over_budget(report)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.markdown.write_text(table)
    print(table)
    return 0 if report["ok"] else 1
