"""The console's schema builder: Django forms for a dataset's schema, one set per kind.

The forms carry text; ``datadao.schema_text`` turns it into the schema's JSON and
``validate_schema`` judges it, so the builder and the raw-JSON editor obey one set of rules.
The validator's faults name a JSON path (``columns[2].min: ...``); ``attach_errors`` puts each
next to the input that path came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms

from datadao.http import localized
from datadao.schema import (
    COLUMN_TYPES,
    ITEM_KINDS,
    KINDS,
    LABELING_TASKS,
    SUPPORTED_MEDIA_TYPES,
    empty_schema,
)
from datadao.schema_text import (
    BUILDER_MAX_COLUMNS,
    column_fields,
    column_json,
    files_fields,
    files_json,
    labeling_fields,
    labeling_json,
    tabular_fields,
    tabular_json,
)

EDITOR_BUILDER = "builder"
EDITOR_JSON = "json"
EXTRA_COLUMN_ROWS = 3

# --- forms ------------------------------------------------------------------------------------


def _text(label: str, help_text: str, **attrs: Any) -> forms.CharField:
    # strip=False: the *_json functions decide what whitespace means (a regex keeps its own).
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"size": 10, **attrs}),
    )


def _lines_field(label: str, help_text: str, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 30}),
    )


MAX_SIZE_HELP = (
    "Largest upload accepted, in bytes (104857600 = 100 MiB). Empty: the platform default."
)


class ColumnForm(forms.Form):
    """One column of a tabular dataset."""

    name = _text(
        "Name",
        "The column's header in uploaded CSV / JSON Lines: starts with a letter or _, then "
        "letters, digits, space, _ . - (at most 63).",
        size=16,
    )
    # Free text behind a drop-down: the validator, not the form, says what a type may be.
    type = forms.CharField(
        label="Type",
        required=False,
        initial="string",
        help_text="int, float, bool, string, category (a fixed set of values: fill in "
        "Allowed) or datetime (ISO 8601).",
        widget=forms.Select(choices=[(t, t) for t in COLUMN_TYPES]),
    )
    required = forms.BooleanField(
        label="Required", required=False, help_text="Every row must have a value here."
    )
    min = _text("Min", "Smallest value allowed (int, float; an ISO 8601 date-time for datetime).")
    max = _text("Max", "Largest value allowed (same types as Min).")
    allowed = _lines_field(
        "Allowed values",
        "One value per line; a cell must be one of them. Required for category; also for "
        "string and int.",
        rows=2,
    )
    regex = _text(
        "Regex",
        "string / category: every cell must match the whole pattern (RE2: no backreferences "
        "or lookaround).",
        size=16,
    )
    max_length = _text("Max length", "string / category: at most this many characters.", size=6)

    def is_blank(self) -> bool:
        """Nothing typed but perhaps a type or a tick: a spare row, not a column."""
        data = self.cleaned_data
        keys = ("name", "min", "max", "allowed", "regex", "max_length")
        return not any(str(data.get(key, "")).strip() for key in keys)


ColumnFormSet = forms.formset_factory(
    ColumnForm,
    extra=EXTRA_COLUMN_ROWS,
    can_delete=True,
    max_num=BUILDER_MAX_COLUMNS,
    validate_max=True,
    absolute_max=BUILDER_MAX_COLUMNS,
)


class TabularForm(forms.Form):
    """What a tabular schema says beyond its columns."""

    target = _text(
        "Target column",
        "Optional: the column a model predicts from the others (used by synthetic data).",
        size=16,
    )
    max_size = _text("Max upload size", MAX_SIZE_HELP, size=12)
    constraints = _lines_field(
        "Constraints",
        "Optional, one per line, kept by synthetic rows: a<=b, range:col:0:9, fixed:a,b.",
    )


class _AnyChoices(forms.MultipleChoiceField):
    """Checkboxes whose values the validator judges (it names an unsupported media type)."""

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


class FilesForm(forms.Form):
    """A files (image / text) dataset's schema."""

    media_types = _AnyChoices(
        label="Media types",
        required=False,
        choices=[(m, m) for m in SUPPORTED_MEDIA_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="What an upload may be, recognised by its content, not its name.",
    )
    max_size = _text("Max upload size", MAX_SIZE_HELP, size=12)
    min_width = _text("Min image width", "Pixels; images only.", size=6)
    min_height = _text("Min image height", "Pixels; images only.", size=6)
    max_width = _text("Max image width", "Pixels; images only.", size=6)
    max_height = _text("Max image height", "Pixels; images only.", size=6)


class LabelingForm(forms.Form):
    """A labeling dataset's schema: the labels and how answers are checked and agreed."""

    labels = _lines_field(
        "Labels", "One label per line, at least 2; labelers pick among them.", rows=4
    )
    multi_choice = forms.BooleanField(
        label="Multiple choice",
        required=False,
        help_text="A labeler may pick several labels for one item.",
    )
    item_kind = forms.CharField(
        label="Item kind",
        required=False,
        help_text="What one item is: an image, a text, or a row of an uploaded CSV / JSON "
        "Lines file; for pairwise a pair, for text an image or an audio clip. Blank: the "
        "task's own (text for classification).",
        widget=forms.Select(
            choices=[("", "the task's default"), *[(k, k) for k in (*ITEM_KINDS, "pair", "audio")]]
        ),
    )
    task = forms.CharField(
        label="Task",
        required=False,
        help_text="What labelers do: pick a label (classification), draw boxes on an image, "
        "mark spans of a text, pick the better of two candidates (pairwise), or transcribe "
        "an image or audio clip (text). Boxes and spans need at least one label, pairwise "
        "and text none.",
        widget=forms.Select(
            choices=[("", "classification (default)"), *[(t, t) for t in LABELING_TASKS[1:]]]
        ),
    )
    order = forms.CharField(
        label="Order",
        required=False,
        help_text="Which open items labelers get first: the oldest (arrival), or the ones "
        "whose current consensus is least confident (uncertain: uncertainty sampling, so "
        "labels go where they change the most).",
        widget=forms.Select(
            choices=[("", "arrival (default)"), ("arrival", "arrival"), ("uncertain", "uncertain")]
        ),
    )
    overlap = _text("Overlap", "", size=4)
    max_overlap = _text("Max overlap", "", size=4)
    gold_rate = _text("Gold rate", "", size=6)
    confidence_target = _text("Confidence target", "", size=6)
    gold_accuracy_floor = _text("Gold accuracy floor", "", size=6)
    max_size = _text("Max upload size", MAX_SIZE_HELP, size=12)
    iou_threshold = _text("IoU threshold (boxes)", "", size=6)
    overlapping = forms.CharField(
        label="Overlapping spans (spans)",
        required=False,
        help_text="Whether a labeler's spans may overlap (default no).",
        widget=forms.Select(choices=[("", "no (default)"), ("true", "yes"), ("false", "no")]),
    )
    allow_tie = forms.CharField(
        label="Allow a tie (pairwise)",
        required=False,
        help_text="Whether a labeler may call two candidates equal (default yes).",
        widget=forms.Select(choices=[("", "yes (default)"), ("true", "yes"), ("false", "no")]),
    )
    max_cer = _text("Max character error rate (text)", "", size=6)
    suggestion_rate = _text("Suggestion rate", "", size=6)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The defaults the labeling app applies (``datadao.schema``), shown so the help text
        # never drifts from them.
        from datadao import schema as conf

        helps = {
            "overlap": f"Labelers asked per item before their answers are compared "
            f"(1–20; default {conf.LABELING_DEFAULT_OVERLAP}).",
            "max_overlap": "Most labelers an item is given to while they disagree "
            "(at least Overlap, at most 50; default Overlap + 2).",
            "gold_rate": "Share of hand-outs that are check questions with a known answer "
            "(0–0.5; default 0: none).",
            "confidence_target": "Agreement an item needs to settle, above 0.5 and at most 1 "
            f"(default {conf.LABELING_DEFAULT_CONFIDENCE_TARGET}).",
            "gold_accuracy_floor": "A labeler whose accuracy on check questions falls under "
            f"this is paused (0–1; default {conf.LABELING_DEFAULT_GOLD_FLOOR}).",
            "iou_threshold": "Boxes only: a check answer's box is right at this overlap (IoU) "
            f"with the known one and the right class (0–1; default "
            f"{conf.LABELING_DEFAULT_IOU_THRESHOLD}).",
            "max_cer": "Text only: a check transcription is right under this character error "
            f"rate (0–1; default {conf.LABELING_DEFAULT_MAX_CER}).",
            "suggestion_rate": "Share of ordinary hand-outs that show an item's imported "
            "pre-label; check questions never do, so keep it under 1 (0–1; default "
            f"{conf.LABELING_DEFAULT_SUGGESTION_RATE}).",
        }
        for key, text in helps.items():
            self.fields[key].help_text = text


# --- the builder as a whole -------------------------------------------------------------------


_PATH = re.compile(r"^(?P<path>[A-Za-z_][\w.\[\]]*): (?P<message>.*)$", re.DOTALL)
_COLUMN_PATH = re.compile(r"^columns\[(?P<index>\d+)\](?:\.(?P<key>\w+))?$")


@dataclass
class SchemaBuilder:
    """The builder's forms for one dataset (all three kinds on the add page, where the kind is
    chosen on the same page), bound to the posted data or filled from ``schema``."""

    kinds: tuple[str, ...]
    tabular: TabularForm
    columns: forms.BaseFormSet
    files: FilesForm
    labeling: LabelingForm
    # Shown instead of the column rows when the schema is too wide for them.
    note: str = ""
    # Which column row each schema column came from, for placing the validator's faults.
    _rows: list[forms.Form] = field(default_factory=list)

    @classmethod
    def create(
        cls, *, data: Any, kinds: tuple[str, ...], schema: Any, schema_kind: str | None
    ) -> SchemaBuilder:
        def start(kind: str) -> dict[str, Any]:
            if kind == schema_kind and isinstance(schema, dict):
                return schema
            return empty_schema(kind)

        tabular = start("tabular")
        columns = tabular.get("columns") if isinstance(tabular.get("columns"), list) else []
        note = ""
        if len(columns) > BUILDER_MAX_COLUMNS:
            note = (
                f"This schema has {len(columns)} columns, more than the builder shows "
                f"({BUILDER_MAX_COLUMNS}): edit it as JSON below."
            )
            columns = []
        return cls(
            kinds=kinds,
            tabular=TabularForm(data, prefix="tabular", initial=tabular_fields(tabular)),
            columns=ColumnFormSet(
                data, prefix="columns", initial=[column_fields(c) for c in columns]
            ),
            files=FilesForm(data, prefix="files", initial=files_fields(start("files"))),
            labeling=LabelingForm(
                data, prefix="labeling", initial=labeling_fields(start("labeling"))
            ),
            note=note,
        )

    def build(self, kind: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The schema the builder's posted fields describe, or the problems reading them."""
        if kind == "tabular" and self.note:
            return None, [self.note]
        if kind == "tabular":
            if not (self.columns.is_valid() and self.tabular.is_valid()):
                problems = [*self.columns.non_form_errors(), *self._field_errors(self.tabular)]
                for row in self.columns.forms:
                    problems.extend(self._field_errors(row))
                return None, problems or ["The column rows could not be read."]
            self._rows = [
                row
                for row in self.columns.forms
                if row.cleaned_data and not row.cleaned_data.get("DELETE") and not row.is_blank()
            ]
            columns = [column_json(row.cleaned_data) for row in self._rows]
            return tabular_json(self.tabular.cleaned_data, columns), []
        form = self.files if kind == "files" else self.labeling
        if not form.is_valid():
            return None, self._field_errors(form)
        build: Callable[[dict[str, Any]], dict[str, Any]] = (
            files_json if kind == "files" else labeling_json
        )
        return build(form.cleaned_data), []

    @property
    def empty_json(self) -> str:
        """Each kind's starting schema as the JSON textarea shows it (for schema_builder.js)."""
        return json.dumps({kind: json.dumps(empty_schema(kind), indent=2) for kind in KINDS})

    @staticmethod
    def _field_errors(form: forms.Form) -> list[str]:
        return [f"{name}: {error}" for name, errors in form.errors.items() for error in errors]

    def attach_errors(self, kind: str, errors: list[str]) -> list[str]:
        """Put each validator fault next to its input; return the faults as the page's summary
        says them (a column's fault names the column)."""
        summary = []
        for error in errors:
            match = _PATH.match(error)
            path = match["path"] if match else ""
            column = _COLUMN_PATH.match(path) if kind == "tabular" else None
            if column and int(column["index"]) < len(self._rows):
                row = self._rows[int(column["index"])]
                # Read before add_error, which drops the field from cleaned_data.
                name = row.data.get(row.add_prefix("name"), "").strip()
                label = f"Column {int(column['index']) + 1}" + (f" {name!r}" if name else "")
                key = column["key"]
                shown = localized(error)
                row.add_error(key if key in row.fields else None, shown)
                summary.append(f"{label}: {shown}")
                continue
            form = {"tabular": self.tabular, "files": self.files}.get(kind, self.labeling)
            key = re.split(r"[.\[]", path)[-1] if path else ""
            key = key if key in form.fields else re.split(r"[.\[]", path)[0]
            shown = localized(error)
            form.add_error(key if key in form.fields else None, shown)
            summary.append(shown)
        return summary
