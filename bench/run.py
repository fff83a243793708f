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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str]  # figure, ratio (same-run reference), absolute, target
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


def _ok(flag: Any) -> str:
    return "met" if flag else "NOT met"


def _rng(d: dict[str, Any], digits: int = 2, suffix: str = "") -> str:
    return f"{d['median']:.{digits}f}{suffix} ({d['min']:.{digits}f}–{d['max']:.{digits}f})"


def _ipfs_rows(s: dict[str, Any]) -> list[Row]:
    res = s["results"]
    rows: list[Row] = []
    for kind in ("cid_v1", "cid_v0", "embedded_add", "node_only_hash"):
        if kind not in res:
            continue
        r = res[kind]
        per = r["ratio_vs_sha256_per_round"]
        target = ""
        if kind == "cid_v1":
            target = f"≥ 0.70× sha256: {_ok(s['target']['met'])}"
        rss = (
            f", peak RSS +{r['peak_rss_growth_kib'] / 1024:.2f} MiB"
            if "peak_rss_growth_kib" in r
            else ""
        )
        rows.append((
            f"{kind} of {s['size_mib']} MiB" + (" (js-ipfs)" if kind.startswith("node") else ""),
            f"{r['ratio_vs_sha256']}× sha256 ({per['min']}–{per['max']})",
            f"{r['median_mib_s']} MiB/s vs sha256 {res['sha256']['median_mib_s']} MiB/s{rss}",
            target,
        ))  # fmt: skip
    return rows


def _pipeline_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for lane, per_lane in s.get("pipeline_by_lane", {"express": s["pipeline"]}).items():
        rows.extend(_lane_rows(s, lane, per_lane))
    for key, ratio in s.get("express_vs_stages", {}).items():  # results before 2026-11-29
        kind, workers = key.split("_")
        rows.append((
            f"{kind}, {workers[:-1]} worker(s): express lane vs one task per stage",
            f"{_rng(ratio, 3)}× the per-stage lane's end-to-end rate",
            "paired by repetition",
            "",
        ))  # fmt: skip
    for key, ratio in s.get("lane_ratios", {}).items():
        lanes, workload = key.split("/")
        first, other = lanes.split("_vs_")
        kind, workers = workload.split("_")
        rows.append((
            f"{kind}, {workers[:-1]} worker(s): {first} lane vs {other} lane",
            f"{_rng(ratio, 3)}× the {other} lane's end-to-end rate",
            f"paired by repetition ({ratio.get('pairs', '?')} pairs)",
            "",
        ))  # fmt: skip
    web = s["web_upload"]
    rows.append((
        f"web upload of {web['upload_mib']} MiB",
        f"{_rng(web['ratio_vs_floor'], 2)}× the hash+write floor",
        f"{web['mib_s']['median']} MiB/s, web worker RSS +{web['worker_peak_rss_growth_mib']} MiB",
        f"≤ {web['target_growth_mib']} MiB: "
        + _ok(web["worker_peak_rss_growth_mib"] <= web["target_growth_mib"]),
    ))  # fmt: skip
    return rows


def _pipeline_target(s: dict[str, Any], rate: float) -> str:
    if s.get("mode") == "quick":
        return "100/s applies to the full size (1,000 CSVs, 200 PNGs)"
    return "100/s: " + _ok(rate >= 100)


def _lane_rows(s: dict[str, Any], lane: str, per_lane: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for kind in ("csv", "png"):
        for count in s["workers"]:
            e = per_lane[kind].get(str(count))
            if e is None:  # a comparison lane runs at fewer worker counts
                continue
            rows.append((
                f"{kind} end to end, {count} worker(s), {lane} lane",
                f"{_rng(e['end_to_end_ratio_vs_floor'], 4)}× the sha256+write+fsync floor",
                f"{e['end_to_end_contrib_s']['median']}/s (floor {e['floor_files_s']['median']} "
                f"files/s), overhead {e['end_to_end_overhead_ms_per_contribution']['median']} "
                f"ms/contribution, worker peak RSS {e.get('worker_peak_rss_mib', '?')} MiB",
                _pipeline_target(s, e["end_to_end_contrib_s"]["median"]),
            ))  # fmt: skip
    return rows


def _assign_rows(s: dict[str, Any]) -> list[Row]:
    lat = s["latency_ms"]
    ratios = s["ratios"]
    target = s["target"]
    tasks = s["data"]["tasks"]
    labelers = s["run"]["concurrent_labelers"]
    verdict = (
        f"p95 ≤ 20 ms at 1M: {_ok(target['met'])}"
        if target["applies"]
        else "p95 ≤ 20 ms applies at 1M tasks"
    )
    return [
        (
            f"label `next` at {tasks:,} tasks, {labelers} labelers non-stop",
            f"p95 {ratios['next_p95_vs_select_1_p95']['median']}× SELECT 1 p95, "
            f"{ratios['next_p95_vs_commit_1_p95']['median']}× commit p95",
            f"p50 {_rng(lat['next']['p50'])} ms, p95 {_rng(lat['next']['p95'])} ms",
            verdict,
        ),
        (
            "label submit",
            f"p95 {ratios['submit_p95_vs_commit_1_p95']['median']}× commit p95",
            f"p95 {_rng(lat['submit']['p95'])} ms, "
            f"{s['throughput']['labels_per_s']['median']} labels/s",
            "",
        ),
    ]


def _consensus_rows(s: dict[str, Any]) -> list[Row]:
    ours, peer = s["ours"], s.get("peer", {})
    rows: list[Row] = []
    for kind, label in (("ds", "Dawid–Skene"), ("mv", "majority vote")):
        if kind not in peer:
            continue
        target = ""
        if kind == "ds":
            target = f"≥ 3× at equal accuracy: {_ok(s['target']['met'])}"
        per_round = s.get("speedup_per_round", {}).get(kind)
        spread = f" (per round {per_round['min']}–{per_round['max']})" if per_round else ""
        rows.append((
            f"{label}, {s['labels']:,} labels",
            f"{s['speedup'][kind]}× faster than crowd-kit{spread}",
            f"{ours[kind]['seconds']['median']} s vs {peer[kind]['seconds']['median']} s; "
            f"accuracy {ours[kind]['accuracy']:.4f} vs {peer[kind]['accuracy']:.4f}"
            + (f"; peak {ours[kind]['peak_traced_mib']} MiB" if kind == "ds" else ""),
            target,
        ))  # fmt: skip
    return rows


def _rewards_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    peer = s.get("peer")
    for size in s["sizes"]:
        e = s["results"][str(size)]["all_proofs"]
        ratio, target = "", ""
        if peer and peer["size"] == size:
            per_round = peer.get("speedup_per_round")
            spread = f", per round {per_round['min']}–{per_round['max']}" if per_round else ""
            ratio = (
                f"{peer['speedup']['tree_and_all_proofs']}× faster than @openzeppelin/merkle-tree "
                f"({peer['seconds']['median']} s{spread})"
            )
            target = f"≥ 5×: {_ok(peer['speedup']['tree_and_all_proofs'] >= 5)}"
            if not (peer["same_root"] and peer["same_proofs"]):
                target += "; ROOT/PROOFS DIFFER"
        if size == 1_000_000:
            target = f"< 30 s: {_ok(e['seconds']['median'] < 30)}"
        rows.append((
            f"tree + all proofs, {size:,} allocations",
            ratio,
            f"{_rng(e['seconds'], 3)} s, peak RSS +{e['peak_rss_growth_mib']} MiB",
            target,
        ))  # fmt: skip
    v = s["vouchers_signed_per_second"]
    rows.append(("vouchers signed", "", f"{_rng(v, 1, '/s')} ({v['ecc_backend']})", ""))
    return rows


def _synthetic_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    epochs = s.get("ctgan_epochs", 300)
    for table, methods in s["results"].items():
        g = methods["gan"]
        target = s["targets"][table]
        verdict = (
            f"all targets: {_ok(target['met'])}"
            if target.get("applies", True)
            else "targets apply to the full run (300 epochs)"
        )
        rows.append((
            f"GAN on {table}",
            f"fit {_rng(g['fit_ratio_vs_ctgan'])}× ctgan's {epochs}-epoch fit; quality gap "
            f"{g['quality_gap']:+.3f} to the real ceiling; TSTR/TRTR {g['tstr_trtr']:.3f}",
            f"fit {g['fit_s']:.1f} s (ctgan {methods['ctgan']['fit_s']:.1f} s); DCR share "
            f"{g['dcr_share']:.3f}; copies {g['exact_copies_max']}; "
            f"peak RSS +{g['peak_rss_growth_mib']} MiB",
            verdict,
        ))  # fmt: skip
    return rows


def _web_rows(s: dict[str, Any]) -> list[Row]:
    pages = s["pages"]
    n = s["data"]["rows"]["contributions_contribution"]
    rss = max(s["gunicorn_worker_peak_rss_mib"].values(), default=0)
    rows: list[Row] = []
    for name, p in pages.items():
        if name == "healthz":
            continue
        rows.append((
            f"{name} `{p['path']}`, {n:,} contributions",
            f"p50 {p['p50_vs_healthz']['median']}×, p95 {p['p95_vs_healthz']['median']}× /healthz",
            f"p50 {_rng(p['p50_ms'], 1)} ms, p95 {_rng(p['p95_ms'], 1)} ms",
            "",
        ))  # fmt: skip
    h = pages["healthz"]
    rows.append((
        "/healthz (reference: SELECT 1 through the same stack)",
        "1×",
        f"p50 {_rng(h['p50_ms'], 1)} ms, p95 {_rng(h['p95_ms'], 1)} ms; worker peak RSS {rss} MiB",
        "",
    ))  # fmt: skip
    return rows


def _load_rows(s: dict[str, Any]) -> list[Row]:
    load, req, ratios = s["load"], s["requests"], s["ratios"]

    def latency(name: str) -> str:
        d = req["endpoints"][name]["ms_ok"]
        if not d.get("n"):
            return "none answered"
        text = f"p50 {d['p50']} ms, p95 {d['p95']} ms, p99 {d['p99']} ms ({d['n']:,})"
        worker = s["server_logs"].get("in_worker_ms", {}).get(name, {})
        if worker.get("n"):
            text += f"; in the web worker p50 {worker['p50']} ms, p95 {worker['p95']} ms"
        return text

    def ratio(name: str) -> str:
        windows = s.get("windows")
        if windows is None:
            return f"p95 {ratios[f'{name}_p95_vs_healthz']}× /healthz p95"
        r = windows["p95_vs_healthz"][name]
        if not r.get("n"):
            return "no answers"
        return (
            f"p95 {_rng(r)}× /healthz p95 over {r['n']} windows of {windows['width_s']} s "
            f"(whole load {ratios[f'{name}_p95_vs_healthz']}×)"
        )

    drained = s["drain"]["seconds"]
    invariants = s["consistency"]["invariants"]
    return [
        (
            f"label `next` under load: {load['contributors']} contributors + "
            f"{load['labelers']} labelers, {load['duration_s']:.0f} s",
            ratio("next"),
            latency("next"),
            "",
        ),
        ("label submit under load", ratio("submit"), latency("submit"), ""),
        ("upload accept under load", ratio("upload"), latency("upload"), ""),
        (
            "requests under load",
            "",
            f"{req['total']:,} ({req['per_s']}/s): {s['throughput']['uploads_accepted_per_s']} "
            f"uploads/s, {s['throughput']['labels_per_s']} labels/s; 4xx "
            f"{sum(req['4xx_by_reason'].values())} (429 {req['429_quota']}), no answer "
            f"{sum(req['no_answer_by_reason'].values())}; machine "
            f"{100 * s['cpu']['machine_busy_share']:.0f} % busy",
            f"0 5xx: {_ok(req['5xx'] == 0)}",
        ),
        (
            "queue drained after the load",
            "",
            "not drained" if drained is None else f"{drained} s",
            f"≤ {s['drain']['target_s']:.0f} s: "
            f"{_ok(drained is not None and drained <= s['drain']['target_s'])}",
        ),
        (
            "fleet invariants after the load",
            "",
            f"{invariants.get('contributions', '?')} contributions, "
            f"{invariants.get('pinned', '?')} pinned",
            f"pass: {_ok(invariants['ok'])}",
        ),
    ]  # fmt: skip


# Quick timeouts: three to five times each benchmark's quick time on a 2-core machine (20, 20,
# 30, 45, 45, 45, 40 and 30 s: 275 s in all, under QUICK_BUDGET_S), so a slow or shared machine
# still finishes and a hang costs minutes, not the whole run.
BENCHMARKS = [
    Spec("ipfs_cid", "CID vs sha256 vs js-ipfs", 60, 1800, _ipfs_rows),
    Spec("labeling_consensus", "Dawid–Skene vs crowd-kit", 60, 1800, _consensus_rows),
    Spec("rewards_merkle", "Merkle tree + proofs vs OpenZeppelin JS", 90, 3600, _rewards_rows),
    Spec("synthetic", "tabular GAN vs ctgan", 150, 3600, _synthetic_rows),
    Spec("pipeline", "contributions/s end to end", 150, 3600, _pipeline_rows),
    Spec("labeling_assign", "labeling `next` on PostgreSQL", 150, 3600, _assign_rows),
    Spec("web", "web pages over HTTP (gunicorn)", 120, 3600, _web_rows),
    Spec("load", "contributors and labelers at once (locust)", 90, 1200, _load_rows),
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


# --- running --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _ipfs_node(log: Any) -> Iterator[list[str]]:
    """The js-ipfs node as ``ipfs_cid``'s peer, when it is installed; no arguments otherwise."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.ipfsnode import IpfsNode

        node = IpfsNode()
        node.start()
    except Exception as exc:  # not installed or does not start: the peer row is left out
        print(f"js-ipfs node not started ({exc}); ipfs_cid runs without its peer", file=log)
        yield []
        return
    try:
        yield ["--node-api", node.api_url]
    finally:
        node.close()


def run_one(spec: Spec, quick: bool, workdir: Path) -> dict[str, Any]:
    out_json = workdir / f"{spec.name}.json"
    stdout_path = workdir / f"{spec.name}.stdout"
    stderr_path = workdir / f"{spec.name}.stderr"
    timeout = spec.timeout_quick if quick else spec.timeout_full
    args = [*(["--quick"] if quick else []), *spec.extra_args, "--json", str(out_json)]
    started = time.perf_counter()
    status = "ok"
    with open(stdout_path, "wb") as out, open(stderr_path, "w") as err:
        peer = _ipfs_node(err) if spec.name == "ipfs_cid" else contextlib.nullcontext([])
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
