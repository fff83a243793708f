"""Benchmark: our Dawid–Skene and majority vote against crowd-kit's, on a simulated crowd.

Run ``python -m bench.labeling_consensus [--quick] [--repeat R] [--no-peer] [--json PATH]
[--markdown PATH]``. The data is the tests' simulated crowd (``tests/labeling/crowd.py``),
seeded: 1M labels (``--quick``: 50k) over 10 classes, a quarter as many tasks (3–5 labels
each), one worker per 1,000 labels (at least 30) with accuracies from 0.55 to 0.95, a fifth of
them spammers answering uniformly at random. It measures a warm-up round, then ``repeat`` (5)
rounds, each of, in turn:

* ``ds``: ``labeling.consensus.dawid_skene`` (defaults: 100 iterations at most, tol 1e-5);
* ``mv``: ``labeling.consensus.majority_vote``;
* crowd-kit's ``DawidSkene(n_iter=100)`` and ``MajorityVote`` on the same labels as a pandas
  frame (built outside the timing, as our arrays are).

The warm-up round runs ours on all the labels and crowd-kit on the first tenth of the tasks'
labels: it is there for imports, first-call set-up and page faults, and crowd-kit's Dawid–Skene
on all of them would cost as much as a measured round (about 55 s at 1M). Times are
median/min/max seconds; the figures that travel across machines are the ratios peer/ours of the
same run: the ratio of the medians, and the median/min/max of the per-round ratios. Accuracy is
against the simulated truth. One more run of ours under tracemalloc gives its peak memory (numpy
and scipy report their buffers to it), reported per label. Target: ours >= 3x faster than
crowd-kit's DawidSkene at equal accuracy (within 0.5 percentage points). The quick run takes
about 12 s on a 2-core machine, the full one about 6 minutes (crowd-kit's five rounds). The
JSON summary goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import emit
from bench._stats import spread_samples

SEED = 20_240_601
N_CLASSES = 10
TARGET_SPEEDUP = 3.0
TARGET_ACCURACY_GAP = 0.005
QUICK_LABELS = 50_000


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


def _time(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run(n_labels: int, repeat: int, with_peer: bool) -> dict[str, Any]:
    from labeling.consensus.dawid_skene import dawid_skene, majority_vote

    crowd = _crowd(n_labels)
    args = (
        crowd.tasks,
        crowd.workers,
        crowd.labels,
        crowd.n_tasks,
        crowd.n_workers,
        crowd.n_classes,
    )
    calls: dict[str, Callable[[], Any]] = {
        "ds": lambda: dawid_skene(*args),
        "mv": lambda: majority_vote(*args),
    }
    warmups: dict[str, Callable[[], Any]] = dict(calls)
    peer_package = None
    if with_peer:
        peer_package, peer_calls, peer_warmups = _peer_calls(crowd)
        calls |= peer_calls
        warmups |= peer_warmups
    times: dict[str, list[float]] = {kind: [] for kind in calls}
    results: dict[str, Any] = {}
    for round_no in range(repeat + 1):
        for kind, call in calls.items():
            if round_no == 0:  # the warm-up: imports, first-call set-up, page faults
                warmups[kind]()
                continue
            seconds, results[kind] = _time(call)
            times[kind].append(seconds)
        if round_no:
            line = "  ".join(f"{k} {times[k][-1]:7.3f}s" for k in calls)
            print(f"round {round_no}: {line}", file=sys.stderr)

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
        "repetitions": {
            "warmup": 1,
            "measured": repeat,
            "of": "rounds of ours and crowd-kit, interleaved",
        },
        "seed": SEED,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "ours": {
            "ds": {
                "seconds": spread_samples(times["ds"]),
                "accuracy": round(float((results["ds"].labels == truth).mean()), 5),
                "iterations": results["ds"].iterations,
                "peak_traced_mib": round(peak / 2**20, 1),
                "peak_traced_bytes_per_label": round(peak / len(crowd.tasks)),
            },
            "mv": {
                "seconds": spread_samples(times["mv"]),
                "accuracy": round(float((results["mv"].labels == truth).mean()), 5),
            },
        },
    }
    target: dict[str, Any] = {}
    if with_peer:
        peer: dict[str, Any] = {"package": peer_package}
        for kind in ("ds", "mv"):
            labels = results[f"peer_{kind}"].reindex(range(crowd.n_tasks)).to_numpy()
            peer[kind] = {
                "seconds": spread_samples(times[f"peer_{kind}"]),
                "accuracy": round(float((labels == truth).mean()), 5),
            }
            if kind == "ds":
                peer[kind]["same_label_as_ours"] = round(
                    float((labels == results["ds"].labels).mean()), 5
                )
        summary["peer"] = peer
        speedup = {
            kind: peer[kind]["seconds"]["median"] / summary["ours"][kind]["seconds"]["median"]
            for kind in ("ds", "mv")
        }
        summary["speedup"] = {kind: round(value, 1) for kind, value in speedup.items()}
        summary["speedup_per_round"] = {
            kind: spread_samples(
                [p / o for p, o in zip(times[f"peer_{kind}"], times[kind], strict=True)], 1
            )
            for kind in ("ds", "mv")
        }
        gap = summary["ours"]["ds"]["accuracy"] - peer["ds"]["accuracy"]
        target = {
            "ds_speedup_vs_crowdkit": round(speedup["ds"], 1),
            "ds_accuracy_gap_points": round(100 * gap, 2),
            "met": speedup["ds"] >= TARGET_SPEEDUP and gap >= -TARGET_ACCURACY_GAP,
        }
    summary["target"] = target
    return summary


def _peer_calls(
    crowd: Any,
) -> tuple[str, dict[str, Callable[[], Any]], dict[str, Callable[[], Any]]]:
    """crowd-kit's aggregators on the crowd as a frame, and their warm-up on a tenth of it."""
    import crowdkit
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote

    frame = pd.DataFrame({"task": crowd.tasks, "worker": crowd.workers, "label": crowd.labels})
    small = frame[frame["task"] < max(1, crowd.n_tasks // 10)]
    calls: dict[str, Callable[[], Any]] = {
        "peer_ds": lambda: DawidSkene(n_iter=100).fit_predict(frame),
        "peer_mv": lambda: MajorityVote().fit_predict(frame),
    }
    warmups: dict[str, Callable[[], Any]] = {
        "peer_ds": lambda: DawidSkene(n_iter=100).fit_predict(small),
        "peer_mv": lambda: MajorityVote().fit_predict(small),
    }
    return f"crowd-kit {crowdkit.__version__}", calls, warmups


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a short markdown table."""
    rows = [
        f"Labels {summary['labels']:,}, tasks {summary['tasks']:,}, workers "
        f"{summary['workers']:,}, classes {summary['classes']} (median of {summary['repeat']} "
        "rounds after a warm-up).",
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
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LABELS:,} labels instead of 1M"
    )
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds after warm-up")
    parser.add_argument("--no-peer", action="store_true", help="skip crowd-kit")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    n_labels = QUICK_LABELS if args.quick else 1_000_000
    summary = run(n_labels, args.repeat, with_peer=not args.no_peer)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
