"""Offline consensus from CSV files (the ``aggregate_labels`` command). Pure: no Django imports.

Labels come as CSV with a header naming at least ``task``, ``worker`` and ``label`` (any order,
extra columns ignored, names matched case-insensitively); ids and labels are any strings. The
file is streamed row by row into dense indexes: tasks and workers in order of first appearance,
classes in sorted order, so the same labels in any row order give the same consensus (ties go to
the lowest class index, i.e. the smallest label string). Gold answers come as CSV with ``task``
and ``label``. The result is CSV ``task,label,confidence``, tasks in order of first appearance.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import numpy.typing as npt

from labeling.consensus.dawid_skene import Consensus, dawid_skene, majority_vote

Method = Literal["ds", "mv"]
METHODS: tuple[Method, ...] = ("ds", "mv")
# OWASP "CSV Injection": a spreadsheet evaluates a cell starting with one of these as a formula.
# (contributions.export.escape_formula does the same, but importing it pulls in Django.)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Longest cell accepted (the csv module's default). Set on every read: the limit is process-wide
# and the upload validators raise it for their own files.
MAX_FIELD = 131_072


def safe_cell(value: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@dataclass(frozen=True)
class LabelSet:
    """Labels read from CSV, as dense indexes into ``task_ids``, ``worker_ids``, ``classes``."""

    tasks: npt.NDArray[np.int64]
    workers: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    task_ids: list[str]
    worker_ids: list[str]
    classes: list[str]


@dataclass(frozen=True)
class Summary:
    """What one aggregation saw and did (the command prints it)."""

    method: Method
    tasks: int
    workers: int
    labels: int
    classes: int
    gold: int
    iterations: int

    def line(self) -> str:
        return (
            f"{self.method}: {self.tasks} tasks, {self.workers} workers, {self.labels} labels, "
            f"{self.classes} classes, {self.gold} gold, {self.iterations} iterations"
        )


def _guarded(reader: Any, what: str) -> Iterator[list[str]]:
    """The reader's rows, with its errors (a NUL byte, bad bytes) as ValueErrors with the line."""
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what}: after line {line}: not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            raise ValueError(f"{what}: line {reader.line_num}: {exc}") from None
        line = reader.line_num
        yield row


def _rows(
    source: TextIO, columns: tuple[str, ...], what: str, optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, list[str]]]:
    """(line number, the named columns' stripped values) for each non-blank data row; the
    ``optional`` columns follow, "" where the header lacks them (they may be empty)."""
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(source)
    rows = _guarded(reader, what)
    header = next(rows, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(rows, None)
    if header is None:
        raise ValueError(f"{what}: empty file, expected a header with {', '.join(columns)}")
    names = [cell.strip().lower().lstrip("\ufeff") for cell in header]
    positions = []
    for column in columns:
        if column not in names:
            raise ValueError(
                f"{what}: line {reader.line_num}: missing column {column!r} "
                f"(header: {', '.join(names)})"
            )
        positions.append(names.index(column))
    extra = [names.index(column) if column in names else -1 for column in optional]
    width = max(positions + extra) + 1
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            raise ValueError(
                f"{what}: line {reader.line_num}: {len(row)} fields, expected at least {width}"
            )
        values = [row[i].strip() for i in positions]
        for column, value in zip(columns, values, strict=True):
            if not value:
                raise ValueError(f"{what}: line {reader.line_num}: empty {column!r}")
        yield reader.line_num, values + [row[i].strip() if i >= 0 else "" for i in extra]


def read_labels(source: TextIO, *, name: str = "labels") -> LabelSet:
    """Read ``task,worker,label`` rows; ``ValueError`` naming the line for a bad file."""
    task_index: dict[str, int] = {}
    worker_index: dict[str, int] = {}
    label_index: dict[str, int] = {}
    tasks: list[int] = []
    workers: list[int] = []
    labels: list[int] = []
    for _, (task, worker, label) in _rows(source, ("task", "worker", "label"), name):
        tasks.append(task_index.setdefault(task, len(task_index)))
        workers.append(worker_index.setdefault(worker, len(worker_index)))
        labels.append(label_index.setdefault(label, len(label_index)))
    if not tasks:
        raise ValueError(f"{name}: no labels after the header")
    classes = sorted(label_index)
    # Re-number classes in sorted order (read in order of appearance to keep one pass).
    rank = np.empty(len(classes), np.int64)
    for position, label in enumerate(classes):
        rank[label_index[label]] = position
    return LabelSet(
        tasks=np.asarray(tasks, np.int64),
        workers=np.asarray(workers, np.int64),
        labels=rank[np.asarray(labels, np.int64)],
        task_ids=list(task_index),
        worker_ids=list(worker_index),
        classes=classes,
    )


def read_gold(source: TextIO, label_set: LabelSet, *, name: str = "gold") -> dict[int, int]:
    """Read ``task,label`` gold answers as {task index: class index}.

    A gold task nobody labelled is skipped (it cannot inform the model); a gold label that no
    labeler ever gave, or one task given two different gold labels, is an error.
    """
    task_index = {task: i for i, task in enumerate(label_set.task_ids)}
    class_index = {label: i for i, label in enumerate(label_set.classes)}
    gold: dict[int, int] = {}
    first_line: dict[int, int] = {}
    for line, (task, label) in _rows(source, ("task", "label"), name):
        if label not in class_index:
            raise ValueError(
                f"{name}: line {line}: gold label {label!r} for task {task!r} is not among "
                f"the labels seen ({', '.join(label_set.classes[:20])})"
            )
        if task not in task_index:
            continue
        index = task_index[task]
        if gold.setdefault(index, class_index[label]) != class_index[label]:
            raise ValueError(
                f"{name}: line {line}: task {task!r} already has gold label "
                f"{label_set.classes[gold[index]]!r} (line {first_line[index]})"
            )
        first_line.setdefault(index, line)
    return gold


def aggregate(
    label_set: LabelSet, *, method: Method = "ds", gold: dict[int, int] | None = None
) -> Consensus:
    """Run ``method`` ("ds": Dawid–Skene, "mv": majority vote) on the labels; gold tasks get
    their gold answer at posterior 1 either way (Dawid–Skene also learns from them)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
    args = (
        label_set.tasks,
        label_set.workers,
        label_set.labels,
        len(label_set.task_ids),
        len(label_set.worker_ids),
        len(label_set.classes),
    )
    run = dawid_skene if method == "ds" else majority_vote
    return run(*args, gold=gold)


def write_consensus(output: TextIO, label_set: LabelSet, consensus: Consensus) -> None:
    """Write ``task,label,confidence`` (6 decimals), ids escaped against formula injection."""
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(["task", "label", "confidence"])
    classes = [safe_cell(label) for label in label_set.classes]
    for task, label, confidence in zip(
        label_set.task_ids, consensus.labels.tolist(), consensus.posterior.tolist(), strict=True
    ):
        writer.writerow([safe_cell(task), classes[label], f"{confidence:.6f}"])


@dataclass(frozen=True)
class Aggregation:
    """Labels read, their consensus, and the summary line's figures."""

    label_set: LabelSet
    consensus: Consensus
    summary: Summary


def aggregate_csv(
    labels_path: Path, *, method: Method = "ds", gold_path: Path | None = None
) -> Aggregation:
    """Read labels (and gold) from CSV files and aggregate them; ``write_consensus`` writes it.

    Everything is read and checked before anything is written, so a refusal leaves no output.
    """
    with open(labels_path, encoding="utf-8-sig", newline="") as source:
        label_set = read_labels(source, name=str(labels_path))
    gold = None
    if gold_path is not None:
        with open(gold_path, encoding="utf-8-sig", newline="") as source:
            gold = read_gold(source, label_set, name=str(gold_path))
    consensus = aggregate(label_set, method=method, gold=gold)
    summary = Summary(
        method=method,
        tasks=len(label_set.task_ids),
        workers=len(label_set.worker_ids),
        labels=len(label_set.tasks),
        classes=len(label_set.classes),
        gold=len(gold or {}),
        iterations=consensus.iterations,
    )
    return Aggregation(label_set, consensus, summary)
