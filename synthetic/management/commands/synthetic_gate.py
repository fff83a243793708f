"""Run the publication gate that synthetic jobs run on any synthetic CSV."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from synthetic.candidates import evaluate_and_gate
from synthetic.infer import InputError, infer_schema, parse_rows
from synthetic.management.commands.synthesize import figures, read_csv, read_json


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Judge SYNTH.csv as a job's gate would: fidelity scored against HOLDOUT.csv "
        "(rows the generator never saw), utility with --target (else a "
        "real-vs-synthetic classifier), copies of TRAIN.csv rows and distance to "
        "them. Prints each figure and PASS or FAIL; exits 0 only on PASS. Column "
        "types come from --schema or are inferred from TRAIN.csv. Example: manage.py "
        "synthetic_gate train.csv holdout.csv synth.csv --target label --report "
        "gate.json"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("train", metavar="TRAIN.csv", help=_("The rows the generator saw"))
        parser.add_argument("holdout", metavar="HOLDOUT.csv", help=_("Real rows it never saw"))
        parser.add_argument("synthetic", metavar="SYNTH.csv", help=_("The rows to judge"))
        parser.add_argument("--target", help=_("Column a model would predict (utility check)"))
        parser.add_argument("--report", metavar="R.json", help=_("Write the full report"))
        parser.add_argument("--schema", metavar="SCHEMA.json", help=_("A tabular dataset schema"))
        parser.add_argument("--seed", type=int, default=0, help=_("Seed of the evaluation models"))

    def handle(self, *args: object, **options: Any) -> None:
        train_rows = read_csv(Path(options["train"]))
        schema = read_json(Path(options["schema"])) if options["schema"] else None
        schema = schema or infer_schema(train_rows)
        target = options["target"]
        names = [c["name"] for c in schema["columns"]]
        if target is not None and target not in names:
            raise CommandError(
                _("unknown target column %(target)r (columns: %(join)s)")
                % {"target": target, "join": ", ".join(names)}
            )
        tables = []
        for key in ("train", "holdout", "synthetic"):
            rows = train_rows if key == "train" else read_csv(Path(options[key]))
            try:
                tables.append(parse_rows(rows, schema))
            except InputError as exc:
                raise CommandError(f"{options[key]}: {exc}") from None
        train, holdout, synthetic = tables
        report, result = evaluate_and_gate(
            train, holdout, synthetic, target=target, seed=options["seed"]
        )
        report["gate"] = result.to_dict()
        if options["report"]:
            Path(options["report"]).write_text(json.dumps(report, indent=2, default=str))
        self.stdout.write(figures(report))
        for check in result.checks:
            self.stdout.write(
                f"  {'pass' if check.passed else 'FAIL'} {check.name}: {check.reason}"
            )
        self.stdout.write(_("PASS") if result.passed else _("FAIL"))
        if not result.passed:
            sys.exit(1)
