"""Column types for a plain CSV, and CSV text cells into a typed ``Table``. Pure.

``infer_schema`` returns the ``datadao.schema`` tabular shape, so an inferred schema and a
dataset's declared schema go through the same code afterwards. ``parse_rows`` reads cells with
the upload validator's own rules (``contributions.validation.cells``): a row the platform would
refuse is refused here too, with the same reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contributions.validation.cells import check_csv_cell, compile_columns

from .table import Table, specs_from_schema

# A text column with at most this many distinct values (or distinct values in at most half
# the rows) is a category; otherwise it is free text.
MAX_INFERRED_CATEGORIES = 50
# Errors listed before "… and N more" in a refusal.
ERRORS_SHOWN = 5

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOL = frozenset({"true", "false", "yes", "no"})


class InputError(ValueError):
    """The input table cannot be synthesized; the message says why, for a person."""


def infer_schema(rows: Sequence[dict[str, str | None]], *, target: str | None = None) -> dict:
    """A ``datadao.schema`` tabular schema for CSV ``rows`` (dicts of raw cell text).

    Column order is the first row's key order (``csv.DictReader`` keeps the header's).
    ``required`` is set where no cell is empty; ``allowed`` lists a category's values.
    """
    if not rows:
        raise InputError("the table has no rows")
    columns = []
    for name in rows[0]:
        cells = [_clean(row.get(name)) for row in rows]
        present = [c for c in cells if c]
        column: dict[str, Any] = {"name": name, "type": _infer_type(present, len(rows))}
        if len(present) == len(cells):
            column["required"] = True
        if column["type"] == "category":
            column["allowed"] = sorted(set(present))
        columns.append(column)
    schema: dict[str, Any] = {"columns": columns}
    if target is not None:
        schema["target"] = target
    return schema


def _clean(cell: str | None) -> str:
    text = (cell or "").strip()
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _infer_type(present: list[str], n_rows: int) -> str:
    if not present:
        return "string"
    if all(c.lower() in _BOOL for c in present):
        return "bool"
    if all(_INT.fullmatch(c) for c in present):
        return "int"
    if all(_FLOAT.fullmatch(c) for c in present):
        return "float"
    if all("-" in c and _is_datetime(c) for c in present):
        return "datetime"
    distinct = len(set(present))
    if distinct <= MAX_INFERRED_CATEGORIES or distinct <= n_rows // 2:
        return "category"
    return "string"


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_rows(rows: Sequence[dict[str, str | None]], schema: dict[str, Any]) -> Table:
    """CSV ``rows`` as a ``Table`` typed by ``schema``; ``InputError`` lists bad cells."""
    specs = specs_from_schema(schema)
    rules = compile_columns(schema["columns"])
    if rows:
        missing = [s.name for s in specs if s.name not in rows[0]]
        if missing:
            raise InputError(f"the CSV has no column {', '.join(map(repr, missing))}")
    errors: list[str] = []
    records = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        record: dict[str, Any] = {}
        for spec in specs:
            raw = (row.get(spec.name) or "").strip()
            if not raw:
                if spec.required:
                    errors.append(f"line {line}, column {spec.name!r}: required but empty")
                record[spec.name] = None
                continue
            value, problem = check_csv_cell(rules[spec.name], raw)
            if problem is not None:
                errors.append(f"line {line}, column {spec.name!r}: {problem.reason}")
            record[spec.name] = value
        records.append(record)
    if errors:
        more = f" … and {len(errors) - ERRORS_SHOWN} more" if len(errors) > ERRORS_SHOWN else ""
        raise InputError("; ".join(errors[:ERRORS_SHOWN]) + more)
    return Table.from_records(records, specs)
