"""Consensus labels from a CSV of crowd labels, offline (no database)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from labeling.consensus.offline import METHODS, aggregate_csv, write_consensus


class Command(BaseCommand):
    help = (
        "Aggregate crowd labels offline: read a CSV with task,worker,label columns (and "
        "optionally gold answers, task,label), run Dawid–Skene (ds, the default) or majority "
        "vote (mv), and write task,label,confidence as CSV to --output or stdout. Touches no "
        "database. Example: manage.py aggregate_labels labels.csv --gold gold.csv --output out.csv"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("labels", type=Path, metavar="LABELS.csv")
        parser.add_argument("--method", choices=METHODS, default="ds", help="ds (default) or mv")
        parser.add_argument("--gold", type=Path, metavar="GOLD.csv", help="known answers")
        parser.add_argument("--output", type=Path, metavar="OUT.csv", help="default: stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = aggregate_csv(
                options["labels"], method=options["method"], gold_path=options["gold"]
            )
            if options["output"] is None:
                write_consensus(self.stdout, result.label_set, result.consensus)
            else:
                with open(options["output"], "w", encoding="utf-8", newline="") as output:
                    write_consensus(output, result.label_set, result.consensus)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(result.summary.line())
