"""Consensus labels from a CSV of crowd labels, offline (no database)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from labeling.consensus.offline import METHODS, aggregate_csv, write_consensus
from labeling.consensus.offline_types import (
    FORMATS,
    TYPES,
    aggregate_typed_csv,
    write_typed,
    write_yolo,
)

TASKS = ("classification", *TYPES)


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Aggregate crowd labels offline, touching no database. Reads a CSV with "
        "task,worker,label (pairwise: task,worker,left,right,label with label left, "
        "right or tie; boxes and spans: label is JSON) and optionally gold answers "
        "(task,label). --task picks the labeling task type: classification (the "
        "default; --method ds for Dawid–Skene or mv for majority vote), boxes, "
        "spans, pairwise or text. Writes the answer per task with a confidence "
        "(pairwise: per candidate, its score) as CSV, or with --format the type's "
        "export (boxes: coco, yolo into the --output folder; spans: jsonl, conll; "
        "pairwise and text: jsonl), to --output or stdout. Example: manage.py "
        "aggregate_labels boxes.csv --task boxes --gold gold.csv --format coco "
        "--output coco.json"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("labels", type=Path, metavar="LABELS.csv")
        parser.add_argument(
            "--task",
            default="classification",
            help=_("one of %(join)s") % {"join": ", ".join(TASKS)},
        )
        parser.add_argument("--method", choices=METHODS, help=_("classification: ds (default), mv"))
        parser.add_argument("--gold", type=Path, metavar="GOLD.csv", help=_("known answers"))
        parser.add_argument("--output", type=Path, metavar="OUT", help=_("default: stdout"))
        parser.add_argument("--format", default="csv", help=_("csv (default) or the type's export"))
        parser.add_argument(
            "--iou-threshold", type=float, default=0.5, help=_("boxes: IoU that makes one object")
        )
        parser.add_argument(
            "--overlapping", action="store_true", help=_("spans: a label's spans may overlap")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        task = options["task"]
        if task not in TASKS:
            raise CommandError(
                _("unknown --task %(task)r: expected one of %(join)s")
                % {"task": task, "join": ", ".join(TASKS)}
            )
        if task == "classification":
            self._classification(options)
            return
        if options["method"] is not None:
            raise CommandError(_("--method applies to --task classification only"))
        fmt = options["format"]
        if fmt not in FORMATS[task]:
            raise CommandError(
                _("--format %(fmt)r does not apply to %(task)s: expected one of %(join)s")
                % {"fmt": fmt, "task": task, "join": ", ".join(FORMATS[task])}
            )
        if fmt == "yolo" and options["output"] is None:
            raise CommandError(_("--format yolo writes one file per image: give --output FOLDER"))
        try:
            labels, result, n_gold = aggregate_typed_csv(
                options["labels"],
                task,
                gold_path=options["gold"],
                iou_threshold=options["iou_threshold"],
                overlapping=options["overlapping"],
            )
            if fmt == "yolo":
                write_yolo(options["output"], labels, result)
            elif options["output"] is None:
                write_typed(self.stdout, labels, result, fmt)
            else:
                with open(options["output"], "w", encoding="utf-8", newline="") as output:
                    write_typed(output, labels, result, fmt)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            _(
                "%(task)s: %(tasks)s tasks, %(workers)s workers, %(labels)s labels, "
                "%(n_gold)s gold, %(iterations)s iterations"
            )
            % {
                "task": task,
                "tasks": len(labels.task_ids),
                "workers": len(labels.worker_ids),
                "labels": len(labels.tasks),
                "n_gold": n_gold,
                "iterations": result.iterations,
            }
        )

    def _classification(self, options: dict[str, Any]) -> None:
        if options["format"] != "csv":
            raise CommandError(_("--format applies to the other task types; classification is csv"))
        try:
            result = aggregate_csv(
                options["labels"], method=options["method"] or "ds", gold_path=options["gold"]
            )
            if options["output"] is None:
                write_consensus(self.stdout, result.label_set, result.consensus)
            else:
                with open(options["output"], "w", encoding="utf-8", newline="") as output:
                    write_consensus(output, result.label_set, result.consensus)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(result.summary.line())
