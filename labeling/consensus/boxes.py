"""Bounding boxes on images: match boxes across labelers by IoU, weigh each labeler by their
estimated skill, pick each object's class by per-labeler confusion. Pure: no Django imports.

A label is the list of ``(x, y, w, h, class)`` boxes one worker drew on one image (pixels,
origin top left). Aggregation, per round:

1. Boxes of one image are grouped into objects: in order of their worker's skill, each box
   joins the object whose first box overlaps it most (IoU at least ``iou_threshold``) among
   those that hold no box from the same label, or starts a new one.
2. Whether an object is real is a binary Dawid–Skene over (object, worker, drew a box there
   or not), every worker of the image voting: it learns each worker's recall and their rate
   of boxes around nothing, so a spammer's box alone makes no object.
3. Its class is a Dawid–Skene over the classes its boxes were given, one confusion matrix per
   worker (a labeler who always calls a bus a truck is read as saying "bus").
4. Its box is the mean of its boxes' edges weighted by each worker's precision (the inverse
   of the mean squared error of their edges against the consensus, relative to the box's
   size): loose or jittery labelers count less, systematically loose ones too.

The second round groups again with the skills of the first. Gold images start their objects
from the gold boxes: those are real with the gold class and every other object there is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from labeling.consensus.dawid_skene import Consensus, dawid_skene, majority_vote
from labeling.consensus.result import Aggregate, FloatArray, IntArray, check_labels, mean_by

Box = tuple[float, float, float, float, int]
ScoredBox = tuple[float, float, float, float, int, float]
_FLOOR = 1e-9


@dataclass(frozen=True)
class BoxesResult(Aggregate):
    """``answers[t]``: the image's boxes ``(x, y, w, h, class, score)`` with score the
    probability that the object is real and of that class (None for an image with no labels
    and no gold); ``confidence[t]``: the product over the image's candidate objects of the
    probability that keeping or dropping it was right; ``label_prob[i]``: the expected share
    of label i's detections that are right, TP / (TP + FP + FN) with a box right when its
    object is real, of its class and within ``iou_threshold`` of the answer (1.0 for an empty
    label on an image whose answer is surely empty); ``recall[w]``, ``class_accuracy[w]``,
    ``precision_weight[w]``: the three parts of a worker's skill the model uses."""

    recall: FloatArray
    class_accuracy: FloatArray
    precision_weight: FloatArray


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every box of ``a`` (n, 4: x, y, w, h) with every box of ``b`` (m, 4)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, 0, None], b[None, :, 0])
    ih = np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, 1, None], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, _FLOOR)


def match_boxes(
    a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], *, iou_threshold: float
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(i, j, iou)`` of boxes ``a[i]`` and ``b[j]`` at IoU at least
    ``iou_threshold``, greedily from the largest IoU (classes are ignored)."""
    if not len(a) or not len(b):
        return []
    iou = iou_matrix([x[:4] for x in a], [x[:4] for x in b])
    pairs = np.argwhere(iou >= iou_threshold)
    order = np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for i, j in pairs[order].tolist():
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((i, j, float(iou[i, j])))
    return out


def boxes_gold_correct(
    answer: Sequence[Sequence[float]], gold: Sequence[Sequence[float]], *, iou_threshold: float
) -> bool:
    """A check answer is right when its boxes and the gold boxes pair up one to one, each pair
    at IoU at least ``iou_threshold`` and of the same class."""
    if len(answer) != len(gold):
        return False
    matches = match_boxes(answer, gold, iou_threshold=iou_threshold)
    return len(matches) == len(gold) and all(
        int(answer[i][4]) == int(gold[j][4]) for i, j, _ in matches
    )


def _group(
    task_of: IntArray, label_of: IntArray, xywh: FloatArray, order_key: FloatArray,
    seeds: int, n_tasks: int, iou_threshold: float,
) -> IntArray:  # fmt: skip
    """Object index of every box (grouping described in the module docstring). The first
    ``seeds`` boxes (gold) each start their own object and are placed before the others."""
    cluster = np.full(len(task_of), -1, np.int64)
    order = np.lexsort((np.arange(len(task_of)), order_key, task_of))
    bounds = np.searchsorted(task_of[order], np.arange(n_tasks + 1))
    next_id = 0
    for task in range(n_tasks):
        members = order[bounds[task] : bounds[task + 1]]
        if not len(members):
            continue
        iou = iou_matrix(xywh[members], xywh[members])
        labels = label_of[members].tolist()
        heads: list[int] = []  # position in members of each object's first box
        held: list[set[int]] = []
        ids: list[int] = []
        for pos in range(len(members)):
            best, best_iou = -1, iou_threshold
            if members[pos] >= seeds:
                for k, head in enumerate(heads):
                    if labels[pos] not in held[k] and iou[pos, head] >= best_iou:
                        best, best_iou = k, iou[pos, head]
            if best < 0:
                heads.append(pos)
                held.append(set())
                ids.append(next_id)
                next_id += 1
                best = len(heads) - 1
            held[best].add(labels[pos])
            cluster[members[pos]] = ids[best]
    return cluster


def aggregate_boxes(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    boxes: Sequence[Sequence[Box]],
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    iou_threshold: float = 0.5,
    gold: Mapping[int, Sequence[Box]] | None = None,
    method: Literal["em", "median"] = "em",
    rounds: int = 2,
) -> BoxesResult:
    """Consensus boxes of ``boxes[i]``, worker ``workers[i]``'s boxes on image ``tasks[i]``.
    ``method="median"`` is the baseline: unweighted grouping, an object kept when at least
    half the image's labelers drew it, the majority class and the coordinate-wise median box.
    """
    t, w = check_labels(tasks, workers, n_tasks, n_workers, len(boxes))
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError("iou_threshold must lie in (0, 1]")
    gold = {int(k): list(v) for k, v in (gold or {}).items()}
    if any(not 0 <= k < n_tasks for k in gold):
        raise ValueError(f"gold task indexes must lie in [0, {n_tasks})")
    gold_boxes = [b for task in sorted(gold) for b in gold[task]]
    gold_task = np.array([task for task in sorted(gold) for _ in gold[task]], np.int64)
    label_boxes = [b for label in boxes for b in label]
    n_gold = len(gold_boxes)
    every = gold_boxes + label_boxes
    raw = np.asarray([b[:4] for b in every], np.float64).reshape(-1, 4)
    cls = np.asarray([int(b[4]) for b in every], np.int64)
    if len(raw) and ((raw[:, 2:] <= 0).any() or not np.isfinite(raw).all()):
        raise ValueError("every box needs a finite position and a positive width and height")
    if len(cls) and (cls.min() < 0 or cls.max() >= n_classes):
        raise ValueError(f"box classes must lie in [0, {n_classes})")
    per_label = np.fromiter((len(label) for label in boxes), np.int64, len(boxes))
    box_label = np.concatenate([np.full(n_gold, -1), np.repeat(np.arange(len(boxes)), per_label)])
    box_task = np.concatenate([gold_task, np.repeat(t, per_label)]).astype(np.int64)
    box_worker = np.concatenate([np.full(n_gold, -1), np.repeat(w, per_label)])
    edges = np.concatenate([raw[:, :2], raw[:, :2] + raw[:, 2:]], axis=1)  # x0 y0 x1 y1

    weight = np.ones(n_workers)
    rank = np.zeros(n_workers)
    gold_tasks = np.array(sorted(gold), np.int64)
    for _ in range(max(rounds, 1) if method == "em" else 1):
        key = np.where(box_worker >= 0, -rank[np.maximum(box_worker, 0)], -np.inf)
        cluster = _group(box_task, box_label, raw, key, n_gold, n_tasks, iou_threshold)
        fit = _fit(cluster, box_task, box_label, box_worker, cls, edges, t, w, n_gold,
                   n_workers, n_classes, weight, method, gold_tasks)  # fmt: skip
        weight = fit["precision"]
        rank = fit["recall"] * fit["class_accuracy"] * weight / max(weight.max(), _FLOOR)

    c_task, real, c_class, c_class_p, c_edges = (
        fit["task"],
        fit["real"],
        fit["cls"],
        fit["cls_p"],
        fit["edges"],
    )
    keep = real >= 0.5
    score = real * c_class_p
    has_answer = np.zeros(n_tasks, bool)
    has_answer[t] = True
    has_answer[list(gold)] = True
    right = np.where(keep, score, 1.0 - real)
    log_conf = np.bincount(c_task, weights=np.log(np.maximum(right, _FLOOR)), minlength=n_tasks)
    confidence = np.where(has_answer, np.exp(log_conf), 0.0)
    answers: list[list[ScoredBox] | None] = [[] if a else None for a in has_answer]
    for c in np.flatnonzero(keep).tolist():
        x0, y0, x1, y1 = c_edges[c].tolist()
        answers[c_task[c]].append((x0, y0, x1 - x0, y1 - y0, int(c_class[c]), float(score[c])))  # type: ignore[union-attr]

    # label_prob: expected TP / (TP + FP + FN) of each label against the answer.
    own = box_label >= 0
    b_cluster, b_label = cluster[own], box_label[own]
    b_xywh = raw[own]
    answer_xywh = np.concatenate([c_edges[:, :2], c_edges[:, 2:] - c_edges[:, :2]], axis=1)
    near = _paired_iou(b_xywh, answer_xywh[b_cluster]) >= iou_threshold
    p_class = fit["probs"][b_cluster, cls[own]]
    tp = np.bincount(b_label, weights=real[b_cluster] * p_class * near, minlength=len(boxes))
    # Expected objects each label missed: the image's objects it has no box in, by how likely
    # each is real.
    real_per_task = np.bincount(c_task, weights=real, minlength=n_tasks)
    pairs = np.unique(np.stack([b_label, b_cluster]), axis=1)
    in_own = np.bincount(pairs[0], weights=real[pairs[1]], minlength=len(boxes))
    missed = real_per_task[t] - in_own
    denominator = per_label + missed
    label_prob = np.where(denominator > _FLOOR, tp / np.maximum(denominator, _FLOOR), 1.0)
    return BoxesResult(
        answers=answers,
        confidence=confidence,
        label_prob=np.clip(label_prob, 0.0, 1.0),
        skill=mean_by(w, np.clip(label_prob, 0.0, 1.0), n_workers),
        iterations=int(fit["iterations"]),
        recall=fit["recall"],
        class_accuracy=fit["class_accuracy"],
        precision_weight=weight,
    )


def _paired_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of ``a[k]`` with ``b[k]`` for every k."""
    iw = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    return inter / np.maximum(a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter, _FLOOR)


def _group_median(group: IntArray, values: FloatArray, n: int) -> FloatArray:
    """Per group, the median of ``values`` (the lower middle value for an even count)."""
    order = np.lexsort((values, group))
    counts = np.bincount(group, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = starts + np.maximum(counts - 1, 0) // 2
    out = np.zeros(n)
    filled = counts > 0
    out[filled] = values[order][middle[filled]]
    return out


def _fit(
    cluster: IntArray, box_task: IntArray, box_label: IntArray, box_worker: IntArray,
    cls: IntArray, edges: FloatArray, t: IntArray, w: IntArray, n_gold: int, n_workers: int,
    n_classes: int, weight: FloatArray, method: str, gold_tasks: IntArray,
) -> dict[str, npt.NDArray[np.float64] | npt.NDArray[np.int64] | int]:  # fmt: skip
    """Existence, class and box of every object for one grouping (see the module docstring)."""
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    c_task = np.zeros(n_clusters, np.int64)
    c_task[cluster] = box_task
    is_gold_box = np.arange(len(cluster)) < n_gold
    gold_cluster = np.zeros(n_clusters, bool)
    gold_cluster[cluster[is_gold_box]] = True
    in_gold_task = np.isin(c_task, gold_tasks)
    # Existence votes: every label votes on every object of its image.
    c_order = np.argsort(c_task, kind="stable")
    n_t = int(max(t.max() + 1 if len(t) else 0, c_task.max() + 1 if n_clusters else 0))
    c_bounds = np.searchsorted(c_task[c_order], np.arange(n_t + 1))
    per_label = c_bounds[t + 1] - c_bounds[t]
    pair_label = np.repeat(np.arange(len(t)), per_label)
    offsets = np.repeat(c_bounds[t], per_label) + (
        np.arange(int(per_label.sum())) - np.repeat(np.cumsum(per_label) - per_label, per_label)
    )
    pair_cluster = c_order[offsets]
    own = ~is_gold_box
    drawn = np.unique(box_label[own] * max(n_clusters, 1) + cluster[own])
    vote = np.isin(pair_label * max(n_clusters, 1) + pair_cluster, drawn).astype(np.int64)
    exist_gold = {int(c): int(gold_cluster[c]) for c in np.flatnonzero(in_gold_task)}
    class_gold = {int(c): int(cls[i]) for i, c in enumerate(cluster[:n_gold].tolist())}
    label_workers = w[pair_label]
    if method == "em":
        existence = dawid_skene(pair_cluster, label_workers, vote, n_clusters, n_workers, 2,
                                gold=exist_gold)  # fmt: skip
        real = existence.probs[:, 1]
        recall = existence.confusion[:, 1, 1] if existence.confusion is not None else np.ones(0)
        classes = dawid_skene(cluster[own], box_worker[own], cls[own], n_clusters, n_workers,
                              n_classes, gold=class_gold)  # fmt: skip
        iterations = existence.iterations + classes.iterations
    else:
        share = mean_by(pair_cluster, vote.astype(np.float64), n_clusters)
        real = np.nan_to_num(share)
        for c, value in exist_gold.items():
            real[c] = float(value)
        recall = mean_by(label_workers, vote * (real[pair_cluster] >= 0.5), n_workers)
        classes = _majority(cluster[own], box_worker[own], cls[own], n_clusters, n_workers,
                            n_classes, class_gold)  # fmt: skip
        iterations = 0
    probs = classes.probs
    no_votes = np.bincount(cluster[own], minlength=n_clusters) == 0
    probs[no_votes & ~gold_cluster] = 1.0 / n_classes

    # Box edges: precision-weighted means, or medians for the baseline; gold boxes as given.
    member = own
    precision = weight.copy()
    consensus = np.zeros((n_clusters, 4))
    for _ in range(3 if method == "em" else 1):
        for j in range(4):
            if method == "em":
                bw = precision[box_worker[member]]
                total = np.bincount(cluster[member], weights=bw, minlength=n_clusters)
                acc = np.bincount(
                    cluster[member], weights=bw * edges[member, j], minlength=n_clusters
                )
                consensus[:, j] = acc / np.maximum(total, _FLOOR)
            else:
                consensus[:, j] = _group_median(cluster[member], edges[member, j], n_clusters)
        consensus[cluster[:n_gold]] = edges[:n_gold]
        if method != "em":
            break
        scale = np.maximum(consensus[:, 2:] - consensus[:, :2], 1.0)[cluster[member]]
        error = ((edges[member] - consensus[cluster[member]]) / np.tile(scale, 2)) ** 2
        counted = real[cluster[member]] >= 0.5
        sq = np.bincount(
            box_worker[member], weights=error.mean(axis=1) * counted, minlength=n_workers
        )
        n_seen = np.bincount(
            box_worker[member], weights=counted.astype(np.float64), minlength=n_workers
        )
        # A prior of two boxes at a 10% edge error keeps a worker with few boxes near average.
        precision = (n_seen + 2.0) / (sq + 2.0 * 0.01)
        precision /= max(float(np.median(precision)), _FLOOR)
    chosen = probs.argmax(axis=1) if n_clusters else np.zeros(0, np.int64)
    return {
        "task": c_task,
        "real": real,
        "cls": chosen,
        "cls_p": probs[np.arange(n_clusters), chosen],
        "probs": probs,
        "edges": consensus,
        "recall": recall,
        "class_accuracy": classes.worker_accuracy,
        "precision": precision,
        "iterations": iterations,
    }


def _majority(
    cluster: IntArray, workers: IntArray, cls: IntArray, n_clusters: int, n_workers: int,
    n_classes: int, gold: dict[int, int],
) -> Consensus:  # fmt: skip
    return majority_vote(cluster, workers, cls, n_clusters, n_workers, n_classes, gold=gold)
