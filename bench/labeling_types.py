"""Benchmark: the labeling task types beyond classification, on simulated crowds with known
truth, each against its reference measured in the same run.

Run ``python -m bench.labeling_types [--quick] [--repeat R] [--no-peer] [--json PATH]
[--markdown PATH]``. The crowds are ``tests/labeling/crowd_types.py``'s, seeded: good,
mediocre, biased and spamming labelers in shares 35/30/15/20 %. Sizes (``--quick``: a quarter):

* boxes: 2,000 images, 60 labelers, 4–6 per image. Figure: mean IoU of the answer to the truth
  (matched pairs, with every missed or extra box counting 0), against the per-image median box
  (``method="median"``) and against the best single labeler (the one whose own boxes score the
  highest mean IoU, compared on the images that labeler labelled);
* spans: 2,000 texts, 60 labelers, 3–5 per text. Figure: token F1, against token-level majority
  vote;
* pairwise: 200 candidates, 10,000 comparisons (no ties: crowd-kit takes none), 60 labelers.
  Figure: Kendall τ to the true scores and time, against crowd-kit's NoisyBradleyTerry on the
  same comparisons;
* text: 2,000 transcriptions tasks, 60 labelers, 4–6 per task. Figure: word error rate against
  the truth and time, against crowd-kit's ROVER (whitespace tokens) on the same texts.

Each aggregator and reference runs once as a warm-up and then ``repeat`` (5) measured rounds,
interleaved; times are median/min/max seconds and the speedups the ratio of the medians.
Without crowd-kit (``--no-peer`` or not installed) its rows say "unavailable". The JSON summary
goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import emit
from bench._stats import spread_samples

SEED = 20_250_301


def _time(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def _rounds(calls: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, Any], dict]:
    """A warm-up and ``repeat`` measured rounds of every call, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    results: dict[str, Any] = {}
    for round_no in range(repeat + 1):
        for name, call in calls.items():
            seconds, results[name] = _time(call)
            if round_no:
                times[name].append(seconds)
    return results, {name: spread_samples(values) for name, values in times.items()}


def _mean_iou(answers: Any, truth: list[Any], tasks: Any) -> float:
    from labeling.consensus.boxes import match_boxes

    total, count = 0.0, 0
    for task in tasks:
        found, real = answers[task] or [], truth[task]
        matches = match_boxes(found, real, iou_threshold=1e-9)
        total += sum(iou for *_, iou in matches)
        count += len(found) + len(real) - len(matches)
    return total / max(count, 1)


def boxes(scale: float, repeat: int) -> dict[str, Any]:
    from labeling.consensus.boxes import aggregate_boxes
    from tests.labeling.crowd_types import simulate_boxes

    crowd = simulate_boxes(int(2000 * scale), 60, seed=SEED)
    args = (crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks, crowd.n_workers, 4)
    results, seconds = _rounds(
        {"ours": lambda: aggregate_boxes(*args),
         "median": lambda: aggregate_boxes(*args, method="median")}, repeat)  # fmt: skip
    everything = range(crowd.n_tasks)
    per_worker = {}
    for w in range(crowd.n_workers):
        mine = {int(crowd.tasks[i]): crowd.payload[i] for i in np.flatnonzero(crowd.workers == w)}
        per_worker[w] = (_mean_iou(mine, crowd.truth, mine), mine)
    best = max(per_worker, key=lambda w: per_worker[w][0])
    best_iou, best_tasks = per_worker[best]
    ours = _mean_iou(results["ours"].answers, crowd.truth, everything)
    ours_on_best = _mean_iou(results["ours"].answers, crowd.truth, best_tasks)
    median = _mean_iou(results["median"].answers, crowd.truth, everything)
    return {
        "images": crowd.n_tasks, "labels": len(crowd.tasks), "workers": crowd.n_workers,
        "mean_iou": {"ours": round(ours, 4), "median_box": round(median, 4),
                     "best_labeler": round(best_iou, 4),
                     "ours_on_best_labelers_images": round(ours_on_best, 4),
                     "best_labeler_kind": crowd.kinds[best],
                     "best_labeler_images": len(best_tasks)},
        "seconds": seconds,
        # Against the best labeler on the images that labeler labelled: over all images the
        # answer also covers images no good labeler saw.
        "met": ours > median and ours_on_best > best_iou,
    }  # fmt: skip


def spans(scale: float, repeat: int) -> dict[str, Any]:
    from labeling.consensus.spans import aggregate_spans
    from tests.labeling.crowd_types import simulate_spans

    crowd = simulate_spans(int(2000 * scale), 60, seed=SEED)
    args = (crowd.tasks, crowd.workers, crowd.payload, crowd.n_tasks, crowd.n_workers, 3)
    texts = crowd.extra["texts"]
    results, seconds = _rounds(
        {"ours": lambda: aggregate_spans(*args, texts=texts),
         "majority_vote": lambda: aggregate_spans(*args, texts=texts, method="mv")},
        repeat)  # fmt: skip

    def f1(result: Any) -> float:
        tp = fp = fn = 0
        for task in range(crowd.n_tasks):
            bounds, truth = result.token_bounds[task], crowd.truth[task]
            tags = np.full(len(bounds), -1)
            for start, end, cls, _ in result.answers[task]:
                tags[(bounds[:, 0] >= start) & (bounds[:, 1] <= end)] = cls
            tp += int(((tags == truth) & (truth >= 0)).sum())
            fp += int(((tags >= 0) & (tags != truth)).sum())
            fn += int(((truth >= 0) & (tags != truth)).sum())
        return 2 * tp / (2 * tp + fp + fn)

    ours, vote = f1(results["ours"]), f1(results["majority_vote"])
    return {
        "texts": crowd.n_tasks, "labels": len(crowd.tasks), "workers": crowd.n_workers,
        "token_f1": {"ours": round(ours, 4), "majority_vote": round(vote, 4)},
        "seconds": seconds, "met": ours > vote,
    }  # fmt: skip


def pairwise(scale: float, repeat: int, with_peer: bool) -> dict[str, Any]:
    from scipy.stats import kendalltau

    from labeling.consensus.pairwise import aggregate_pairwise
    from tests.labeling.crowd_types import simulate_pairwise

    n_candidates = 200
    crowd = simulate_pairwise(n_candidates, int(10_000 * scale), 60, seed=SEED)
    left, right, outcome = (np.asarray(x) for x in zip(*crowd.payload, strict=True))
    calls: dict[str, Callable[[], Any]] = {
        "ours": lambda: aggregate_pairwise(
            crowd.tasks, crowd.workers, left, right, outcome, crowd.n_tasks, crowd.n_workers,
            n_candidates)}  # fmt: skip
    peer = _peer() if with_peer else None
    if peer:
        import pandas as pd
        from crowdkit.aggregation import NoisyBradleyTerry

        frame = pd.DataFrame({"worker": crowd.workers, "left": left, "right": right,
                              "label": np.where(outcome == 0, left, right)})  # fmt: skip
        calls["crowdkit"] = lambda: NoisyBradleyTerry().fit_predict(frame)
    results, seconds = _rounds(calls, repeat)
    tau = {"ours": round(float(kendalltau(results["ours"].scores, crowd.truth)[0]), 4)}
    summary: dict[str, Any] = {
        "candidates": n_candidates, "comparisons": crowd.n_tasks, "workers": crowd.n_workers,
        "seconds": seconds, "kendall_tau": tau, "reference": peer or "unavailable",
    }  # fmt: skip
    if peer:
        theirs = results["crowdkit"].reindex(range(n_candidates)).to_numpy()
        tau["crowdkit"] = round(float(kendalltau(theirs, crowd.truth)[0]), 4)
        summary["speedup"] = round(seconds["crowdkit"]["median"] / seconds["ours"]["median"], 1)
        summary["met"] = tau["ours"] >= tau["crowdkit"] and summary["speedup"] > 1
    return summary


def text(scale: float, repeat: int, with_peer: bool) -> dict[str, Any]:
    from labeling.consensus.text import aggregate_texts, word_error_rates
    from tests.labeling.crowd_types import simulate_text

    crowd = simulate_text(int(2000 * scale), 60, seed=SEED)
    calls: dict[str, Callable[[], Any]] = {
        "ours": lambda: aggregate_texts(crowd.tasks, crowd.workers, crowd.payload,
                                        crowd.n_tasks, crowd.n_workers)}  # fmt: skip
    peer = _peer() if with_peer else None
    if peer:
        import pandas as pd
        from crowdkit.aggregation import ROVER

        frame = pd.DataFrame({"task": crowd.tasks, "worker": crowd.workers, "text": crowd.payload})
        rover = ROVER(tokenizer=lambda s: s.split(" "), detokenizer=lambda t: " ".join(t))
        calls["crowdkit"] = lambda: rover.fit_predict(frame)
    results, seconds = _rounds(calls, repeat)
    wer = {"ours": round(float(word_error_rates(results["ours"].answers, crowd.truth).mean()), 4)}
    summary: dict[str, Any] = {
        "tasks": crowd.n_tasks, "labels": len(crowd.tasks), "workers": crowd.n_workers,
        "seconds": seconds, "word_error_rate": wer, "reference": peer or "unavailable",
    }  # fmt: skip
    if peer:
        found = results["crowdkit"]
        theirs = [str(found.get(task, "")) for task in range(crowd.n_tasks)]
        wer["crowdkit"] = round(float(word_error_rates(theirs, crowd.truth).mean()), 4)
        summary["speedup"] = round(seconds["crowdkit"]["median"] / seconds["ours"]["median"], 1)
        summary["met"] = wer["ours"] <= wer["crowdkit"] and summary["speedup"] > 1
    return summary


def _peer() -> str | None:
    try:
        import crowdkit
    except ImportError:
        return None
    return f"crowd-kit {crowdkit.__version__}"


def run(quick: bool, repeat: int, with_peer: bool) -> dict[str, Any]:
    scale = 0.25 if quick else 1.0
    results = {}
    for name, call in (
        ("boxes", lambda: boxes(scale, repeat)),
        ("spans", lambda: spans(scale, repeat)),
        ("pairwise", lambda: pairwise(scale, repeat, with_peer)),
        ("text", lambda: text(scale, repeat, with_peer)),
    ):
        started = time.perf_counter()
        results[name] = call()
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    met = [r.get("met") for r in results.values()]
    return {
        "benchmark": "labeling_types",
        "seed": SEED,
        "quick": quick,
        "repeat": repeat,
        "repetitions": {"warmup": 1, "measured": repeat,
                        "of": "rounds of each aggregator and its reference, interleaved"},
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "reference": _peer() if with_peer else "unavailable",
        "results": results,
        "target": {"met": all(m is True for m in met) if None not in met else None},
    }  # fmt: skip


def markdown(summary: dict[str, Any]) -> str:
    """The figures as a markdown table, each against its reference of the same run."""
    r = summary["results"]
    b, s, p, t = r["boxes"], r["spans"], r["pairwise"], r["text"]

    def sec(d: dict[str, Any], key: str) -> str:
        return f"{d['seconds'][key]['median']} s" if key in d["seconds"] else "unavailable"

    rows = [
        "| type | figure | ours | reference | ours (s) | reference (s) | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| boxes | mean IoU, {b['images']:,} images | {b['mean_iou']['ours']} | median box "
        f"{b['mean_iou']['median_box']} | {sec(b, 'ours')} | {sec(b, 'median')} | "
        f"{'yes' if b['met'] else 'NO'} |",
        f"| boxes | mean IoU on the best labeler's {b['mean_iou']['best_labeler_images']} images"
        f" | {b['mean_iou']['ours_on_best_labelers_images']} | best labeler "
        f"({b['mean_iou']['best_labeler_kind']}) {b['mean_iou']['best_labeler']} | | | |",
        f"| spans | token F1, {s['texts']:,} texts | {s['token_f1']['ours']} | majority vote "
        f"{s['token_f1']['majority_vote']} | {sec(s, 'ours')} | {sec(s, 'majority_vote')} | "
        f"{'yes' if s['met'] else 'NO'} |",
        f"| pairwise | Kendall τ, {p['comparisons']:,} comparisons | {p['kendall_tau']['ours']}"
        f" | NoisyBT {p['kendall_tau'].get('crowdkit', 'unavailable')} | {sec(p, 'ours')} | "
        f"{sec(p, 'crowdkit')} | {_met(p)} |",
        f"| text | word error rate, {t['tasks']:,} tasks | {t['word_error_rate']['ours']} | "
        f"ROVER {t['word_error_rate'].get('crowdkit', 'unavailable')} | {sec(t, 'ours')} | "
        f"{sec(t, 'crowdkit')} | {_met(t)} |",
    ]
    return "\n".join(rows) + "\n"


def _met(d: dict[str, Any]) -> str:
    if "met" not in d:
        return "reference unavailable"
    return f"yes ({d['speedup']}× faster)" if d["met"] else f"NO ({d['speedup']}×)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds after warm-up")
    parser.add_argument("--no-peer", action="store_true", help="skip crowd-kit")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    summary = run(args.quick, args.repeat, with_peer=not args.no_peer)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
