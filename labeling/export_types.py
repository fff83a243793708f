"""Exports of the task types beyond classification, in the formats their users expect:

* boxes: COCO detection JSON (``coco``) and YOLO label files in a zip (``yolo``);
* spans: JSON Lines (``jsonl``) and CoNLL with BIO tags (``conll``);
* pairwise: JSON Lines of the comparisons, then every candidate's fitted Bradley–Terry score
  (``jsonl``);
* text: JSON Lines (``jsonl``).

As in ``labeling.export``, only settled tasks are exported (so no export shows a labeler the
answers of a task they could still be given), gold tasks only on request, and never items
whose contributor withdrew consent. A task is named by the ``id`` its import gave it, else by
its source key. The writers themselves are pure (``labeling.consensus.exports``).

Every format says of each item whether a reviewer looked at it and how (``review_state``):
``accepted`` or ``fixed`` (the exported answer is the reviewed one), ``sent_back`` (a reviewer
sent it back for more labels and it has settled anew since, not reviewed again) or none; and
how many times it was sent back (``sent_back``).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from labeling.conf import LabelingSettings
from labeling.consensus import exports
from labeling.consensus.typed import aggregate_typed
from labeling.models import Label, LabelTask, Review, ReviewDecision, TaskStatus

CHUNK = 2000
FORMATS: dict[str, tuple[str, ...]] = {
    # Classification's own exports (``labeling.export``), under the same route.
    "classification": ("csv", "jsonl"),
    "boxes": ("coco", "yolo"),
    "spans": ("jsonl", "conll"),
    "pairwise": ("jsonl",),
    "text": ("jsonl",),
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "coco": "application/json",
    "yolo": "application/zip",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "conll": "text/plain; charset=utf-8",
}
EXTENSIONS = {
    "csv": "csv",
    "coco": "coco.json",
    "yolo": "yolo.zip",
    "jsonl": "jsonl",
    "conll": "conll",
}


# The names exports give a settled item's review (``LabelTask.review``).
REVIEW_NAMES = {ReviewDecision.ACCEPT: "accepted", ReviewDecision.FIX: "fixed"}
SENT_BACK = "sent_back"


def review_state(review: str, sent_back: int) -> str | None:
    """How a settled item was reviewed: ``accepted`` or ``fixed`` (its current settlement,
    whose answer is final), ``sent_back`` (its last review sent it back for more labels; the
    answer is that of a later settlement, not reviewed), None (never reviewed)."""
    if review:
        return REVIEW_NAMES[ReviewDecision(review)]
    return SENT_BACK if sent_back else None


def with_reviews(tasks: QuerySet[LabelTask]) -> QuerySet[LabelTask]:
    """``tasks`` with ``sent_back``: how many times a reviewer sent each back for more labels
    (one subquery per row, on the review's ``(task, settlement)`` index)."""
    rejected = (
        Review.objects.filter(task=OuterRef("pk"), decision=ReviewDecision.REJECT)
        .order_by()
        .values("task")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return tasks.annotate(sent_back=Coalesce(Subquery(rejected), 0))


@dataclass(frozen=True)
class Settled:
    """One exported task: its name, item, consensus and confidence, and its review."""

    pk: int
    name: str
    payload: dict[str, Any]
    consensus: Any
    confidence: float
    review: str | None = None  # ``review_state``
    sent_back: int = 0

    @property
    def reviewed(self) -> tuple[str | None, int]:
        return (self.review, self.sent_back)


def consented(tasks: QuerySet[LabelTask]) -> QuerySet[LabelTask]:
    """Items of a contribution whose consent was withdrawn are never exported again."""
    return tasks.filter(Q(contribution__isnull=True) | Q(contribution__withdrawn_at__isnull=True))


def task_name(source_key: str) -> str:
    """The import's own id of an item (``id:…``), else its source key."""
    return source_key.removeprefix("id:")


def _tasks(dataset_id: int, include_gold: bool) -> Iterator[list[Settled]]:
    tasks = consented(LabelTask.objects.filter(dataset_id=dataset_id)).order_by("id")
    if include_gold:
        tasks = tasks.filter(Q(status=TaskStatus.COMPLETE) | Q(is_gold=True))
    else:
        tasks = tasks.filter(status=TaskStatus.COMPLETE, is_gold=False)
    tasks = with_reviews(tasks)
    last = 0
    while True:
        batch = list(
            tasks.filter(id__gt=last).values_list(
                "id", "source_key", "payload", "consensus", "posterior", "is_gold", "gold",
                "review", "sent_back",
            )[:CHUNK]
        )  # fmt: skip
        if not batch:
            return
        last = batch[-1][0]
        yield [
            Settled(
                pk=pk,
                name=task_name(key),
                payload=payload,
                # A gold task exported on request shows its known answer.
                consensus=gold if is_gold and gold is not None else consensus,
                confidence=1.0 if is_gold and gold is not None else float(posterior or 0.0),
                review=review_state(review, sent_back),
                sent_back=sent_back,
            )
            for pk, key, payload, consensus, posterior, is_gold, gold, review, sent_back in batch
        ]


def _box_tuples(conf: LabelingSettings, boxes: Any) -> list[tuple[Any, ...]] | None:
    if boxes is None:
        return None
    return [
        (b["x"], b["y"], b["w"], b["h"], conf.index(b["label"]), b.get("score", 1.0)) for b in boxes
    ]


def _span_tuples(conf: LabelingSettings, spans: Any) -> list[tuple[Any, ...]] | None:
    if spans is None:
        return None
    return [(s["start"], s["end"], conf.index(s["label"]), s.get("score", 1.0)) for s in spans]


def coco(conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False) -> bytes:
    """COCO detection JSON: one image per settled task (``file_name`` its CID, with
    ``datadao_task`` naming the task and ``datadao_review``, ``datadao_sent_back`` its review),
    its consensus boxes with their scores."""
    names: list[str] = []
    answers: list[Any] = []
    sizes: list[tuple[int, int] | None] = []
    tasks: list[Settled] = []
    for batch in _tasks(dataset_id, include_gold):
        for task in batch:
            names.append(str(task.payload.get("cid", "")))
            tasks.append(task)
            answers.append(_box_tuples(conf, task.consensus))
            width, height = task.payload.get("width"), task.payload.get("height")
            sizes.append((width, height) if width and height else None)
    document = exports.coco_json(names, answers, conf.labels, sizes=sizes)
    for image, task in zip(document["images"], tasks, strict=True):
        image["datadao_task"] = task.name
        image["datadao_review"] = task.review
        image["datadao_sent_back"] = task.sent_back
    return json.dumps(document, ensure_ascii=False).encode()


def yolo(conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False) -> bytes:
    """A zip of YOLO label files: ``labels/<task>.txt`` per settled image of known size,
    ``classes.txt``, ``images.csv`` (each label file's image CID, size and review) and, where
    some images' sizes are unknown (YOLO coordinates are fractions of the size),
    ``missing_size.txt`` listing them."""
    out = io.BytesIO()
    index = ["label_file,cid,width,height,review,sent_back\n"]
    missing = []
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        archive = _Fixed(zipped)
        archive.writestr("classes.txt", "".join(f"{name}\n" for name in conf.labels))
        for batch in _tasks(dataset_id, include_gold):
            for task in batch:
                width, height = task.payload.get("width"), task.payload.get("height")
                if not width or not height:
                    missing.append(f"{task.name}\n")
                    continue
                stem = _file_stem(task.name, task.pk, used)
                text = exports.yolo_txt(_box_tuples(conf, task.consensus), width, height)
                archive.writestr(f"labels/{stem}.txt", text)
                index.append(
                    f"labels/{stem}.txt,{task.payload.get('cid', '')},{width},{height},"
                    f"{task.review or ''},{task.sent_back}\n"
                )
        archive.writestr("images.csv", "".join(index))
        if missing:
            archive.writestr("missing_size.txt", "".join(missing))
    return out.getvalue()


class _Fixed:
    """Writes zip members with a fixed time, so the same labels make the same bytes (and a
    release published twice pins the same CID)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def writestr(self, name: str, text: str) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(info, text)


def _file_stem(name: str, pk: int, used: set[str]) -> str:
    """A file name from a task's name: letters, digits, ``-``, ``_`` and ``.`` only, led by
    the task's number where that leaves nothing or one already taken."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")[:120]
    stem = safe if safe and safe not in used else f"{pk}-{safe}".rstrip("-")
    used.add(stem)
    return stem


def spans_jsonl(
    conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False
) -> Iterator[str]:
    for batch in _tasks(dataset_id, include_gold):
        yield exports.spans_jsonl(
            [t.name for t in batch],
            [_span_tuples(conf, t.consensus) for t in batch],
            conf.labels,
            [t.confidence for t in batch],
            texts=[str(t.payload.get("text", "")) for t in batch],
            reviews=[t.reviewed for t in batch],
        )


def conll(conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False) -> Iterator[str]:
    for batch in _tasks(dataset_id, include_gold):
        yield exports.conll(
            [t.name for t in batch],
            [str(t.payload.get("text", "")) for t in batch],
            [_span_tuples(conf, t.consensus) for t in batch],
            conf.labels,
            reviews=[t.reviewed for t in batch],
        )


def text_jsonl(
    conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False
) -> Iterator[str]:
    for batch in _tasks(dataset_id, include_gold):
        yield exports.text_jsonl(
            [t.name for t in batch],
            [None if t.consensus is None else str(t.consensus) for t in batch],
            [t.confidence for t in batch],
            reviews=[t.reviewed for t in batch],
        )


def pairwise_jsonl(
    conf: LabelingSettings, dataset_id: int, *, include_gold: bool = False
) -> Iterator[str]:
    """The comparisons (answer and confidence per settled pair), then every candidate of
    them with its Bradley–Terry score fitted over the labels of those pairs."""
    settled: list[Settled] = []
    for batch in _tasks(dataset_id, include_gold):
        yield exports.pairwise_jsonl(
            [
                (t.name, t.payload["left"]["id"], t.payload["right"]["id"], t.consensus,
                 t.confidence)
                for t in batch
            ],
            [],
            reviews=[t.reviewed for t in batch],
        )  # fmt: skip
        settled.extend(batch)
    yield exports.pairwise_jsonl([], [_as_row(c) for c in fit_candidates(settled)])


def _as_row(candidate: Any) -> tuple[str, float, float, int, float]:
    return (
        candidate.id,
        candidate.score,
        candidate.stderr,
        candidate.rank,
        candidate.confidence,
    )


def fit_candidates(settled: list[Settled]) -> list[Any]:
    """Every candidate of the given pairs, ranked by noisy Bradley–Terry over their labels."""
    if not settled:
        return []
    position = {task.pk: i for i, task in enumerate(settled)}
    tasks: list[int] = []
    workers: list[int] = []
    values: list[Any] = []
    ids: dict[int, int] = {}
    pks = list(position)
    for start in range(0, len(pks), CHUNK):
        rows = (
            Label.objects.filter(task_id__in=pks[start : start + CHUNK])
            .order_by("task_id", "id")
            .values_list("task_id", "labeler_id", "value")
        )
        for task_id, labeler_id, value in rows:
            tasks.append(position[task_id])
            workers.append(ids.setdefault(labeler_id, len(ids)))
            values.append(value)
    result = aggregate_typed(
        "pairwise",
        classes=(),
        tasks=tasks,
        workers=workers,
        values=values,
        n_tasks=len(settled),
        n_workers=len(ids),
        items=[task.payload for task in settled],
    )
    return result.candidates


def render(
    conf: LabelingSettings, dataset_id: int, fmt: str, *, include_gold: bool = False
) -> Iterator[bytes]:
    """The export of ``fmt`` (one of ``FORMATS[conf.task_type]``, a type beyond
    classification) as chunks of bytes."""
    if fmt == "coco":
        yield coco(conf, dataset_id, include_gold=include_gold)
        return
    if fmt == "yolo":
        yield yolo(conf, dataset_id, include_gold=include_gold)
        return
    writer = {
        ("spans", "jsonl"): spans_jsonl,
        ("spans", "conll"): conll,
        ("pairwise", "jsonl"): pairwise_jsonl,
        ("text", "jsonl"): text_jsonl,
    }[(conf.task_type, fmt)]
    for text in writer(conf, dataset_id, include_gold=include_gold):
        yield text.encode("utf-8")
