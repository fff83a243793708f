"""A whole-dataset consensus, computed outside any transaction: read every label once into
numpy arrays, run the pure aggregation and agreement code, and return what the service then
stores in one short transaction (``settle.consensus_run_finish``).

Single-choice labels, the bulk of a large dataset, are read on PostgreSQL as packed columns
straight into arrays (``labels_arrays``), and their consensus stays in arrays
(``ChoiceUpdates``) for the service's COPY write-back; per-labeler figures are computed for
all labelers at once (``per_labeler``), not one pass over the labels each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection

from datadao.models import Dataset
from labeling.conf import LabelingSettings, labeling_settings
from labeling.consensus import agreement, dawid_skene
from labeling.consensus.typed import aggregate_typed
from labeling.models import Label, LabelTask

CHUNK = 50_000
# Pairwise candidates kept in a run's metrics (best first); the export fits them all.
MAX_RUN_CANDIDATES = 1000


@dataclass(frozen=True)
class ChoiceUpdates:
    """A single-choice run's consensus as arrays: task ids, the index of each one's label in
    ``classes``, and its posterior."""

    task_ids: np.ndarray
    choices: np.ndarray
    posteriors: np.ndarray
    classes: tuple[str, ...]

    def as_list(self) -> list[tuple[int, list[str], float]]:
        return [
            (int(t), [self.classes[int(c)]], float(p))
            for t, c, p in zip(self.task_ids, self.choices, self.posteriors, strict=True)
        ]


@dataclass
class RunOutcome:
    task_updates: list[tuple[int, list[str], float]] = field(default_factory=list)
    choice_updates: ChoiceUpdates | None = None
    labeler_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


# Labels read per statement: each column comes back as one bytea of packed big-endian values
# (``string_agg`` of ``int8send``), so a million labels cost one round trip and no Python
# object per label; the chunk bounds the statement's memory on both sides.
READ_CHUNK = 2_000_000


def labels_arrays(dataset_id: int, *, chunk: int = READ_CHUNK) -> dict[str, np.ndarray] | None:
    """Every single-choice label of the dataset as int64 arrays ``task``, ``worker``,
    ``choice`` (-1 when missing) and ``ms``, in id order (PostgreSQL; None elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    table = Label._meta.db_table
    sql = (
        "SELECT max(id), count(*), string_agg(int8send(task_id), ''), "  # noqa: S608 (our table)
        "string_agg(int8send(labeler_id), ''), "
        "string_agg(int4send(COALESCE(choice, -1)::int4), ''), "
        "string_agg(int4send(duration_ms::int4), '') "
        f"FROM (SELECT id, task_id, labeler_id, choice, duration_ms FROM {table} "
        "WHERE dataset_id = %s AND id > %s ORDER BY id LIMIT %s) AS part"
    )
    parts: dict[str, list[np.ndarray]] = {"task": [], "worker": [], "choice": [], "ms": []}
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [dataset_id, after, chunk])
            newest, count, *columns = cursor.fetchone()
            if not count:
                break
            for (name, kind), column in zip(_COLUMNS, columns, strict=True):
                values = np.frombuffer(bytes(column), dtype=kind).astype(np.int64)
                if len(values) != count:
                    raise ValueError(f"read {len(values)} {name} values of {count} labels")
                parts[name].append(values)
            after = newest
            if count < chunk:
                break
    out = {
        name: np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        for name, found in parts.items()
    }
    out["chosen"] = np.zeros((0, 0), dtype=bool)
    return out


_COLUMNS = (("task", ">i8"), ("worker", ">i8"), ("choice", ">i4"), ("ms", ">i4"))


def per_labeler(
    w_idx: np.ndarray, n_workers: int, ms: np.ndarray, agree: np.ndarray, scored: np.ndarray
) -> tuple[list[float | None], list[int]]:
    """Each labeler's agreement on ``scored`` labels (None without any) and median duration
    (``int(np.median(...))`` of their labels), for all labelers in one sort."""
    counted = np.bincount(w_idx[scored], minlength=n_workers)
    agreed = np.bincount(w_idx[scored], weights=agree[scored].astype(float), minlength=n_workers)
    agreement = [
        float(a / c) if c else None for a, c in zip(agreed.tolist(), counted.tolist(), strict=True)
    ]
    order = np.lexsort((ms, w_idx))
    ordered = ms[order]
    counts = np.bincount(w_idx, minlength=n_workers)
    starts = np.cumsum(counts) - counts
    low = starts + np.maximum(counts - 1, 0) // 2
    high = starts + counts // 2
    medians = np.zeros(n_workers, dtype=np.int64)
    some = counts > 0
    medians[some] = (
        (ordered[low[some]] + ordered[np.minimum(high, len(ordered) - 1)[some]]) / 2
    ).astype(np.int64)
    return agreement, medians.tolist()


def _load(dataset: Dataset, multi: bool, labels: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every label of the dataset as parallel arrays (streamed from the database)."""
    cols: dict[str, list[Any]] = {k: [] for k in ("task", "worker", "choice", "ms", "chosen")}
    fields = ["task_id", "labeler_id", "choice", "duration_ms"] + (["value"] if multi else [])
    qs = Label.objects.filter(dataset=dataset).order_by().values_list(*fields)
    for row in qs.iterator(chunk_size=CHUNK):
        cols["task"].append(row[0])
        cols["worker"].append(row[1])
        cols["choice"].append(-1 if row[2] is None else row[2])
        cols["ms"].append(row[3])
        if multi:
            cols["chosen"].append([name in row[4] for name in labels])
    out = {k: np.asarray(v, dtype=np.int64) for k, v in cols.items() if k != "chosen"}
    shape = (len(cols["task"]), len(labels)) if multi else (0, len(labels))
    out["chosen"] = np.asarray(cols["chosen"], dtype=bool).reshape(shape)
    return out


def compute_run(dataset: Dataset, method: str) -> RunOutcome:
    conf = labeling_settings(dataset.schema)
    if conf.typed:
        return compute_typed_run(dataset, conf)
    n_classes = len(conf.labels)
    data = (None if conf.multi_choice else labels_arrays(dataset.pk)) or _load(
        dataset, conf.multi_choice, conf.labels
    )
    outcome = RunOutcome()
    if data["task"].size == 0:
        outcome.metrics = {"tasks": 0, "labels": 0, "labelers": 0, "method": method}
        return outcome
    task_ids, t_idx = np.unique(data["task"], return_inverse=True)
    worker_ids, w_idx = np.unique(data["worker"], return_inverse=True)
    n_tasks, n_workers = len(task_ids), len(worker_ids)
    gold_rows = LabelTask.objects.filter(dataset=dataset, is_gold=True).values_list("pk", "gold")
    position = {int(pk): i for i, pk in enumerate(task_ids)}
    gold_single: dict[int, int] = {}
    gold_multi: dict[int, list[int]] = {}
    for pk, answer in gold_rows:
        if pk in position and isinstance(answer, list):
            idx = [conf.labels.index(a) for a in answer if a in conf.labels]
            gold_multi[position[pk]] = idx
            if len(idx) == 1:
                gold_single[position[pk]] = idx[0]
    is_gold = np.zeros(n_tasks, dtype=bool)
    is_gold[list(gold_multi)] = True

    if conf.multi_choice:
        result = dawid_skene.dawid_skene_multi(
            t_idx, w_idx, data["chosen"], n_tasks, n_workers, gold=gold_multi
        )
        present = result.present
        for i in np.flatnonzero(~is_gold):
            names = [conf.labels[c] for c in np.flatnonzero(present[i])]
            post = float(np.min(np.maximum(result.probs[i], 1 - result.probs[i])))
            outcome.task_updates.append((int(task_ids[i]), names, post))
        agree = (data["chosen"] == present[t_idx]).all(axis=1)
        accuracy = result.worker_accuracy
        iterations = int(np.max(result.iterations)) if np.size(result.iterations) else 0
        outcome.metrics = {"alpha": None, "kappa": None}
    else:
        run = dawid_skene.dawid_skene if method == "ds" else dawid_skene.majority_vote
        result = run(t_idx, w_idx, data["choice"], n_tasks, n_workers, n_classes, gold=gold_single)
        labels = np.asarray(result.labels)
        settled = ~is_gold & (labels >= 0)
        outcome.choice_updates = ChoiceUpdates(
            task_ids=task_ids[settled].astype(np.int64),
            choices=labels[settled].astype(np.int64),
            posteriors=np.asarray(result.posterior, dtype=float)[settled],
            classes=tuple(conf.labels),
        )
        agree = data["choice"] == result.labels[t_idx]
        accuracy = result.worker_accuracy
        iterations = result.iterations
        normal = ~is_gold[t_idx]
        kappa, kappa_tasks = agreement.fleiss_kappa(
            t_idx[normal], data["choice"][normal], n_tasks, n_classes
        )
        outcome.metrics = {
            "alpha": agreement.krippendorff_alpha_nominal(
                t_idx[normal], data["choice"][normal], n_tasks, n_classes
            ),
            "kappa": kappa,
            "kappa_tasks": kappa_tasks,
            "priors": [float(p) for p in result.priors],
        }
        on_gold = is_gold[t_idx]
        if on_gold.any():
            truth = np.array([gold_single.get(int(t), -1) for t in t_idx[on_gold]])
            keep = truth >= 0
            matrix = agreement.gold_confusion(data["choice"][on_gold][keep], truth[keep], n_classes)
            outcome.metrics["gold_confusion"] = np.asarray(matrix).astype(int).tolist()
            outcome.metrics["gold_accuracy"] = (
                float(np.trace(matrix) / np.sum(matrix)) if np.sum(matrix) else None
            )
        if result.confusion is not None:
            for w in range(n_workers):
                outcome.labeler_updates.setdefault(int(worker_ids[w]), {})["confusion"] = [
                    [round(float(x), 6) for x in row] for row in result.confusion[w]
                ]

    normal = ~is_gold[t_idx]
    agreement_of, median_of = per_labeler(w_idx, n_workers, data["ms"], agree, normal)
    for w in range(n_workers):
        fields = outcome.labeler_updates.setdefault(int(worker_ids[w]), {})
        fields["ds_accuracy"] = float(accuracy[w])
        fields["agreement"] = agreement_of[w]
        fields["median_ms"] = median_of[w]
    outcome.metrics.update(
        {
            "method": method,
            "tasks": int(n_tasks - is_gold.sum()),
            "gold_tasks": int(is_gold.sum()),
            "labels": int(data["task"].size),
            "labelers": int(n_workers),
            "iterations": int(iterations),
        }
    )
    return outcome


def compute_typed_run(dataset: Dataset, conf: LabelingSettings) -> RunOutcome:
    """The whole-dataset consensus of a task type beyond classification: its aggregator over
    every label with the gold answers (``consensus.typed``). Each task gets its answer and
    confidence, each labeler the mean probability that their labels are right as their
    accuracy; pairwise runs also keep every candidate's fitted score (``candidates``)."""
    task_col: list[int] = []
    worker_col: list[int] = []
    values: list[Any] = []
    ms: list[int] = []
    judged: list[bool] = []
    qs = (
        Label.objects.filter(dataset=dataset)
        .order_by()
        .values_list("task_id", "labeler_id", "value", "duration_ms", "gold_correct")
    )
    for task_id, labeler_id, value, duration, gold_correct in qs.iterator(chunk_size=CHUNK):
        task_col.append(task_id)
        worker_col.append(labeler_id)
        values.append(value)
        ms.append(duration)
        judged.append(bool(gold_correct))
    outcome = RunOutcome()
    if not task_col:
        outcome.metrics = {"tasks": 0, "labels": 0, "labelers": 0, "method": "ds",
                           "task_type": conf.task_type}  # fmt: skip
        return outcome
    task_ids, t_idx = np.unique(np.asarray(task_col, np.int64), return_inverse=True)
    worker_ids, w_idx = np.unique(np.asarray(worker_col, np.int64), return_inverse=True)
    position = {int(pk): i for i, pk in enumerate(task_ids)}
    items: list[dict[str, Any]] = [{} for _ in task_ids]
    gold: dict[int, Any] = {}
    # Spans need their texts and pairs their candidates; boxes and texts need nothing more.
    fields = ["pk", "is_gold", "gold"] + (
        ["payload"] if conf.task_type in ("spans", "pairwise") else []
    )
    for row in (
        LabelTask.objects.filter(pk__in=task_ids.tolist())
        .values_list(*fields)
        .iterator(chunk_size=CHUNK)
    ):
        i = position[int(row[0])]
        if len(row) > 3:
            items[i] = row[3]
        if row[1] and row[2] is not None:
            gold[i] = row[2]
    result = aggregate_typed(
        conf.task_type,
        classes=conf.labels,
        tasks=t_idx,
        workers=w_idx,
        values=values,
        n_tasks=len(task_ids),
        n_workers=len(worker_ids),
        items=items,
        gold=gold,
        iou_threshold=conf.iou_threshold,
        overlapping=conf.overlapping,
    )
    is_gold = np.zeros(len(task_ids), bool)
    is_gold[list(gold)] = True
    for i in np.flatnonzero(~is_gold):
        if result.answers[i] is not None:
            outcome.task_updates.append(
                (int(task_ids[i]), result.answers[i], float(result.confidence[i]))
            )
    ms_arr = np.asarray(ms, np.int64)
    normal = ~is_gold[t_idx]
    n_workers = len(worker_ids)
    label_prob = np.asarray(result.label_prob, dtype=float)
    agreement_of, median_of = per_labeler(w_idx, n_workers, ms_arr, label_prob >= 0.5, normal)
    mean_prob = np.bincount(w_idx, weights=label_prob, minlength=n_workers) / np.bincount(
        w_idx, minlength=n_workers
    )
    for w in range(n_workers):
        outcome.labeler_updates[int(worker_ids[w])] = {
            "ds_accuracy": float(mean_prob[w]),
            "agreement": agreement_of[w],
            "median_ms": median_of[w],
        }
    ordinary = ~is_gold
    outcome.metrics = {
        "method": "ds",
        "task_type": conf.task_type,
        "tasks": int(ordinary.sum()),
        "gold_tasks": int(is_gold.sum()),
        "labels": len(task_col),
        "labelers": len(worker_ids),
        "iterations": result.iterations,
        "mean_confidence": float(np.mean(result.confidence[ordinary])) if ordinary.any() else None,
        "mean_label_prob": float(np.mean(result.label_prob)),
        "alpha": None,
        "kappa": None,
    }
    on_gold = is_gold[t_idx]
    if on_gold.any():
        # How often a check answer was right by the schema's rule (judged on submit).
        outcome.metrics["gold_accuracy"] = float(np.mean(np.asarray(judged)[on_gold]))
    if result.candidates:
        outcome.metrics["candidates"] = [
            {"id": c.id, "score": round(c.score, 6), "stderr": round(c.stderr, 6),
             "rank": c.rank, "confidence": round(c.confidence, 6)}
            for c in result.candidates[:MAX_RUN_CANDIDATES]
        ]  # fmt: skip
        outcome.metrics["n_candidates"] = len(result.candidates)
    return outcome
