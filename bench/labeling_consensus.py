"""Benchmark: our Dawid–Skene and majority vote against crowd-kit's, on a simulated crowd.

Run ``python -m bench.labeling_consensus [--quick] [--repeat R] [--peer-repeat P] [--no-peer]
[--json PATH] [--markdown PATH]``. The data is the tests' simulated crowd
(``tests/labeling/crowd.py``), seeded: 1M labels (``--quick``: 100k) over 10 classes, a quarter
as many tasks (3–5 labels each), one worker per 1,000 labels (at least 30) with accuracies
from 0.55 to 0.95, a fifth of them spammers answering uniformly at random. It measures, after a
warm-up round, ``repeat`` rounds of:

* ``ds``: ``labeling.consensus.dawid_skene`` (defaults: 100 iterations at most, tol 1e-5);
* ``mv``: ``labeling.consensus.majority_vote``;

and ``peer_repeat`` rounds (no warm-up: each costs a lot more) of crowd-kit's ``DawidSkene
(n_iter=100)`` and ``MajorityVote`` on the same labels as a pandas frame (built outside the
timing, as our arrays are). Times are median/min/max seconds; the figures that travel across
machines are the ratios peer/ours of the same run. Accuracy is against the simulated truth.
One more run of ours under tracemalloc gives its peak memory (numpy and scipy report their
buffers to it), reported per label. Target: ours >= 3x faster than crowd-kit's DawidSkene at
equal accuracy (within 0.5 percentage points). The JSON summary goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import emit

SEED = 20_240_601
N_CLASSES = 10
TARGET_SPEEDUP = 3.0
TARGET_ACCURACY_GAP = 0.005


def _crowd(n_labels: int) -> Any:
    from tests.labeling.crowd import simulate_crowd

    return simulate_crowd(
        n_labels // 4,
        N_CLASSES,
        max(30, n_labels // 1_000),
        overlap=(3, 5),
        accuracy=(0.55, 0.95),
        spammers=0.2,
        seed=SEED,
    )


def _stats(samples: list[float], digits: int = 3) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "samples": [round(s, digits) for s in samples],
    }


def _time(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run(n_labels: int, repeat: int, peer_repeat: int) -> dict[str, Any]:
    from labeling.consensus import dawid_skene, majority_vote

    crowd = _crowd(n_labels)
    args = (
        crowd.tasks,
        crowd.workers,
        crowd.labels,
        crowd.n_tasks,
        crowd.n_workers,
        crowd.n_classes,
    )
    ours: dict[str, Callable[[], Any]] = {
        "ds": lambda: dawid_skene(*args),
        "mv": lambda: majority_vote(*args),
    }
    times: dict[str, list[float]] = {kind: [] for kind in ours}
    results: dict[str, Any] = {}
    for round_no in range(repeat + 1):
        for kind, call in ours.items():
            seconds, results[kind] = _time(call)
            if round_no:  # round 0 is the warm-up: imports, page faults, CPU frequency
                times[kind].append(seconds)
        if round_no:
            line = "  ".join(f"{k} {times[k][-1]:7.3f}s" for k in ours)
            print(f"ours round {round_no}: {line}", file=sys.stderr)

    tracemalloc.start()
    dawid_skene(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    truth = crowd.truth
    summary: dict[str, Any] = {
        "benchmark": "labeling_consensus",
        "labels": len(crowd.tasks),
        "tasks": crowd.n_tasks,
        "workers": crowd.n_workers,
        "classes": crowd.n_classes,
        "repeat": repeat,
        "seed": SEED,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "ours": {
            "ds": {
                "seconds": _stats(times["ds"]),
                "accuracy": round(float((results["ds"].labels == truth).mean()), 5),
                "iterations": results["ds"].iterations,
                "peak_traced_mib": round(peak / 2**20, 1),
                "peak_traced_bytes_per_label": round(peak / len(crowd.tasks)),
            },
            "mv": {
                "seconds": _stats(times["mv"]),
                "accuracy": round(float((results["mv"].labels == truth).mean()), 5),
            },
        },
    }
    target: dict[str, Any] = {}
    if peer_repeat:
        summary["peer"] = _peer(crowd, peer_repeat, results["ds"].labels)
        speedup = (
            summary["peer"]["ds"]["seconds"]["median"] / summary["ours"]["ds"]["seconds"]["median"]
        )
        gap = summary["ours"]["ds"]["accuracy"] - summary["peer"]["ds"]["accuracy"]
        summary["speedup"] = {
            "ds": round(speedup, 1),
            "mv": round(
                summary["peer"]["mv"]["seconds"]["median"]
                / summary["ours"]["mv"]["seconds"]["median"],
                1,
            ),
        }
        target = {
            "ds_speedup_vs_crowdkit": round(speedup, 1),
            "ds_accuracy_gap_points": round(100 * gap, 2),
            "met": speedup >= TARGET_SPEEDUP and gap >= -TARGET_ACCURACY_GAP,
        }
    summary["target"] = target
    return summary


def _peer(crowd: Any, peer_repeat: int, our_labels: np.ndarray) -> dict[str, Any]:
    import crowdkit
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote

    frame = pd.DataFrame({"task": crowd.tasks, "worker": crowd.workers, "label": crowd.labels})
    peers: dict[str, Callable[[], Any]] = {
        "ds": lambda: DawidSkene(n_iter=100).fit_predict(frame),
        "mv": lambda: MajorityVote().fit_predict(frame),
    }
    out: dict[str, Any] = {"package": f"crowd-kit {crowdkit.__version__}"}
    for kind, call in peers.items():
        samples = []
        labels = None
        for round_no in range(peer_repeat):
            seconds, predicted = _time(call)
            samples.append(seconds)
            labels = predicted.reindex(range(crowd.n_tasks)).to_numpy()
            print(f"crowd-kit {kind} round {round_no + 1}: {seconds:7.3f}s", file=sys.stderr)
        out[kind] = {
            "seconds": _stats(samples),
            "accuracy": round(float((labels == crowd.truth).mean()), 5),
        }
        if kind == "ds":
            out[kind]["same_label_as_ours"] = round(float((labels == our_labels).mean()), 5)
    return out


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a short markdown table."""
    rows = [
        f"Labels {summary['labels']:,}, tasks {summary['tasks']:,}, workers "
        f"{summary['workers']:,}, classes {summary['classes']} (median of {summary['repeat']}).",
        "",
        "| method | ours (s) | crowd-kit (s) | speedup | ours acc. | crowd-kit acc. |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind in ("ds", "mv"):
        ours = summary["ours"][kind]
        peer = summary.get("peer", {}).get(kind)
        rows.append(
            f"| {kind} | {ours['seconds']['median']} | "
            f"{peer['seconds']['median'] if peer else '-'} | "
            f"{summary.get('speedup', {}).get(kind, '-')}x | {ours['accuracy']:.4f} | "
            f"{format(peer['accuracy'], '.4f') if peer else '-'} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k labels instead of 1M")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds after warm-up")
    parser.add_argument(
        "--peer-repeat", type=int, default=None, help="crowd-kit runs (default 1; 3 quick)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip crowd-kit")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    n_labels = 100_000 if args.quick else 1_000_000
    peer_repeat = 0 if args.no_peer else (args.peer_repeat or (3 if args.quick else 1))
    summary = run(n_labels, args.repeat, peer_repeat)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
