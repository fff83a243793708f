"""Generate synthetic rows like a CSV table, with an evaluation report and a publication gate."""

from __future__ import annotations

import csv
import json
from argparse import ArgumentParser
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from synthetic.checkpoint import CheckpointError
from synthetic.constraints import ConstraintError
from synthetic.dp_request import DEFAULT_DELTA
from synthetic.gan.train import GanSettings
from synthetic.infer import InputError
from synthetic.spelling import Spellings, cell_text
from synthetic.synthesize import METHODS, TvaeSettings, replay_arguments, synthesize

MAX_INPUT_BYTES = 256 * 1024 * 1024


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Fit a generator (our tabular GAN, a TVAE, or the Gaussian-copula baseline; "
        "--method auto fits all three and keeps the best that passes the gate) on "
        "INPUT.csv and write --rows synthetic rows that satisfy the schema and copy "
        "no real row; print how they score on quality, utility and privacy and "
        "whether the gate allows publishing them. Column types are inferred unless "
        "--schema gives a dataset schema. Example: manage.py synthesize data.csv "
        "--rows 1000 --seed 1 --output synth.csv --target label --report "
        "report.json. Constraints every output row keeps: --constraint "
        "'signup<=last_login' (also >=, <, >), --constraint 'range:age:0:120' (an "
        "empty bound is open; datetime bounds are dates), --constraint "
        "'fixed:city,country' (only combinations seen in the data); inequalities "
        "that hold in every training row are also kept (--no-inferred-constraints "
        "turns that off). --condition grade=A generates only that subgroup. "
        "--from-provenance REPORT.json repeats a recorded run byte for byte (a time "
        "budget becomes the epochs it took)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("input", metavar="INPUT.csv")
        parser.add_argument("--rows", type=int, help=_("Rows to generate"))
        parser.add_argument("--seed", type=int, help=_("Same seed, same rows"))
        parser.add_argument("--output", required=True, metavar="OUT.csv")
        parser.add_argument("--report", metavar="REPORT.json", help=_("Write the full report"))
        parser.add_argument("--checkpoint", metavar="MODEL.bin", help=_("Write the model bytes"))
        parser.add_argument("--target", help=_("Column a model would predict (kept per class)"))
        budget = parser.add_mutually_exclusive_group()
        budget.add_argument("--epochs", type=int, help=_("GAN and TVAE epochs (default 300)"))
        budget.add_argument(
            "--time-budget",
            type=float,
            metavar="SECONDS",
            help=_("Stop GAN (and TVAE) training after this many seconds (each)"),
        )
        parser.add_argument(
            "--method",
            choices=METHODS,
            help=_(
                "gan (default), copula, tvae, or auto (all three; the best that passes the "
                "gate is written)"
            ),
        )
        parser.add_argument(
            "--constraint",
            action="append",
            default=[],
            metavar="RULE",
            help=_("'a<=b' (>=, <, >), 'range:COLUMN:LOW:HIGH' or 'fixed:A,B' (repeatable)"),
        )
        parser.add_argument(
            "--condition",
            action="append",
            default=[],
            metavar="COLUMN=VALUE",
            help=_("Generate only rows with this value (repeatable: all must hold)"),
        )
        parser.add_argument(
            "--no-inferred-constraints",
            action="store_true",
            help=_("Do not keep inequalities just because every training row meets them"),
        )
        parser.add_argument(
            "--from-provenance",
            metavar="REPORT.json",
            help=_(
                "Repeat the run a report (or its provenance) records, on the same INPUT.csv "
                "and --schema; the output is byte-identical (not for DP runs)"
            ),
        )
        parser.add_argument(
            "--dp-epsilon",
            type=float,
            metavar="E",
            help=_("Train the GAN with differential privacy, spending at most ε=E (method gan)"),
        )
        parser.add_argument(
            "--dp-delta",
            type=float,
            metavar="D",
            help=_("δ of the DP guarantee (default %(default_delta)g); needs --dp-epsilon")
            % {"default_delta": DEFAULT_DELTA},
        )
        parser.add_argument(
            "--schema",
            metavar="SCHEMA.json",
            help=_("A tabular dataset schema (else column types are inferred)"),
        )

    def handle(self, *args: object, **options: Any) -> None:
        rows = read_csv(Path(options["input"]))
        schema = read_json(Path(options["schema"])) if options["schema"] else None
        if options["from_provenance"]:
            arguments = self._replay(options)
        else:
            arguments = self._arguments(options)
        try:
            result = synthesize(rows, schema=schema, **arguments)
        except (InputError, ConstraintError, CheckpointError) as exc:
            raise CommandError(str(exc)) from None
        self._write(result, options)

    def _replay(self, options: dict[str, Any]) -> dict[str, Any]:
        clashing = [
            f"--{name.replace('_', '-')}"
            for name in REPLAYED
            if options[name] not in (None, [], False)
        ]
        if clashing:
            raise CommandError(
                _("--from-provenance repeats the recorded run: do not also give %(join)s")
                % {"join": ", ".join(clashing)}
            )
        try:
            recorded = read_json(Path(options["from_provenance"]), _("the provenance"))
            return replay_arguments(recorded)
        except InputError as exc:
            raise CommandError(f"{options['from_provenance']}: {exc}") from None

    def _arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        for name in ("rows", "seed"):
            if options[name] is None:
                raise CommandError(
                    _("--%(name)s is required (unless --from-provenance)") % {"name": name}
                )
        settings, tvae = GanSettings(), TvaeSettings()
        if options["epochs"] is not None:
            if options["epochs"] < 1:
                raise CommandError(_("--epochs must be at least 1"))
            settings = GanSettings(epochs=options["epochs"])
            tvae = TvaeSettings(epochs=options["epochs"])
        elif options["time_budget"] is not None:
            if options["time_budget"] <= 0:
                raise CommandError(_("--time-budget must be above 0 seconds"))
            # The budget, not the epoch count, ends training.
            settings = GanSettings(epochs=100_000, time_budget_s=options["time_budget"])
            tvae = TvaeSettings(epochs=100_000, time_budget_s=options["time_budget"])
        if options["dp_delta"] is not None and options["dp_epsilon"] is None:
            raise CommandError(_("--dp-delta needs --dp-epsilon"))
        if options["dp_epsilon"] is not None:
            dp = {"epsilon": options["dp_epsilon"], "delta": options["dp_delta"] or DEFAULT_DELTA}
            settings = replace(settings, dp=dp)
        return {
            "n_rows": options["rows"],
            "seed": options["seed"],
            "target": options["target"],
            "method": options["method"] or "gan",
            "gan_settings": settings,
            "tvae_settings": tvae,
            "constraints": options["constraint"],
            "conditions": options["condition"],
            "infer_constraints": not options["no_inferred_constraints"],
        }

    def _write(self, result: Any, options: dict[str, Any]) -> None:
        columns = [c["name"] for c in result.schema["columns"]]
        _write_csv(Path(options["output"]), columns, result.rows, result.report.get("spellings"))
        if options["report"]:
            Path(options["report"]).write_text(json.dumps(result.report, indent=2, default=str))
        if options["checkpoint"]:
            Path(options["checkpoint"]).write_bytes(result.checkpoint)
        for line in summary(result.report):
            self.stdout.write(line)
        training = result.provenance.get("training")
        if training and result.method == "gan":
            self.stdout.write(
                _(
                    "gan trained %(epochs_run)s epochs (stopped: %(stopped)s; %(validations)s "
                    "validations, best at epoch %(best_epoch)s)"
                )
                % {
                    "epochs_run": training["epochs_run"],
                    "stopped": training["stopped"],
                    "validations": training["validations"],
                    "best_epoch": training["best_epoch"],
                }
            )
        training = result.provenance.get("tvae_training")
        if training and result.method == "tvae":
            self.stdout.write(
                _("tvae trained %(epochs_run)s epochs (stopped: %(stopped)s)")
                % {"epochs_run": training["epochs_run"], "stopped": training["stopped"]}
            )
        self.stdout.write(
            _("wrote %(count)s rows to %(output)s")
            % {"count": len(result.rows), "output": options["output"]}
        )
        if not result.passed:
            self.stderr.write(
                _("the %(method)s's rows do not pass the gate: do not publish")
                % {"method": result.method}
            )


# Options a --from-provenance run takes from the provenance instead.
REPLAYED = (
    "rows",
    "seed",
    "target",
    "method",
    "epochs",
    "time_budget",
    "dp_epsilon",
    "dp_delta",
    "constraint",
    "condition",
    "no_inferred_constraints",
)


def summary(report: dict[str, Any]) -> list[str]:
    """One line per generator, then (for --method auto) the choice, then the
    recommendation."""
    lines = []
    for name, part in report["generators"].items():
        verdict = "PASS" if part["gate"]["passed"] else "FAIL"
        if "withheld" in part:  # a DP job: only the verdict is shown
            lines.append(
                _("%(name)s: figures withheld (%(why)s) → %(verdict)s")
                % {"name": name, "why": part["withheld"], "verdict": verdict}
            )
            continue
        lines.append(f"{name}: {figures(part)} → {verdict}")
        lines.extend(f"  - {reason}" for reason in _failures(part))
    constraints = report.get("constraints") or {}
    if constraints.get("constraints"):
        inferred = constraints.get("inferred") or []
        lines.append(
            _("constraints kept in every row: %(constraints)s")
            % {"constraints": ", ".join(constraints["constraints"])}
            + (
                " "
                + _("(inferred from the data: %(inferred)s)") % {"inferred": ", ".join(inferred)}
                if inferred
                else ""
            )
        )
    if report.get("conditions"):
        lines.append(
            _("rows generated only for %(conditions)s")
            % {"conditions": _(" and ").join(report["conditions"])}
        )
    choice = report.get("choice")
    if choice is not None:
        lines.append(f"auto: {choice['ordering']}")
        for name, line in choice["candidates"].items():
            lines.append(f"  {line['rank']}. {name} {line['outcome']}: {line['reason']}")
    lines.append(_("recommendation: %(reason)s") % {"reason": report["recommendation"]["reason"]})
    return lines


def figures(part: dict[str, Any]) -> str:
    """An evaluation's figures on one line (``synthetic.evaluate.evaluate``'s report)."""
    privacy = part["privacy"]
    text = _("quality %(quality).3f against the hold-out (training rows reach %(ceiling).3f)") % {
        "quality": part["quality"]["score"],
        "ceiling": part["real_ceiling"],
    }
    utility = part.get("utility")
    if utility is not None and utility["ratio"] is not None:
        text += f", TSTR/TRTR {utility['ratio']:.2f}"
    discriminator = part.get("discriminator")
    if discriminator is not None and discriminator["auc"] is not None:
        text += _(", real-vs-synthetic AUC %(auc).3f") % {"auc": discriminator["auc"]}
    return text + _(", closer to training %(closer)s, copies %(copies)s of generated rows") % {
        "closer": format(privacy["share_closer_to_training"], ".0%"),
        "copies": format(privacy["copy_rate"], ".1%"),
    }


def _failures(part: dict[str, Any]) -> list[str]:
    return [c["reason"] for c in part["gate"]["checks"] if not c["passed"]]


def read_csv(path: Path) -> list[dict[str, str | None]]:
    if not path.is_file():
        raise CommandError(_("%(path)s: not a readable file") % {"path": path})
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise CommandError(
            _("%(path)s: larger than %(value)s MiB")
            % {"path": path, "value": MAX_INPUT_BYTES // 2**20}
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise CommandError(_("%(path)s: empty CSV (no header row)") % {"path": path})
            duplicates = sorted({n for n in header if header.count(n) > 1})
            if duplicates:
                raise CommandError(
                    _("%(path)s: duplicate column names %(join)s")
                    % {"path": path, "join": ", ".join(duplicates)}
                )
            rows = []
            for row in reader:
                if None in row:
                    raise CommandError(
                        _("%(path)s: line %(line_num)s has more cells than the header")
                        % {"path": path, "line_num": reader.line_num}
                    )
                rows.append(row)
    except UnicodeDecodeError:
        raise CommandError(_("%(path)s: not UTF-8 text") % {"path": path}) from None
    except csv.Error as exc:
        raise CommandError(
            _("%(path)s: not valid CSV (%(exc)s)") % {"path": path, "exc": exc}
        ) from None
    if not rows:
        raise CommandError(_("%(path)s: the CSV has a header but no rows") % {"path": path})
    return rows


def read_json(path: Path, what: str | None = None) -> Any:
    what = what or _("the schema")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(
            _("%(path)s: cannot read %(what)s (%(exc)s)") % {"path": path, "what": what, "exc": exc}
        ) from None


def _write_csv(
    path: Path, columns: list[str], rows: list[dict[str, Any]], spellings: Spellings | None
) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                ["" if row[c] is None else cell_text(row[c], c, spellings) for c in columns]
            )
