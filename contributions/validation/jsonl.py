"""Streaming validation of a JSON Lines file against tabular ``columns`` (see ``tabular``).

Pure: no Django imports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from .base import preview
from .cells import ColumnRule, check_json_cell, compile_columns
from .jsontext import JsonRefused, json_type_name, loads_guarded
from .lines import LineReader, LineRefused, opened
from .report import CellError, OnRow, TabularLimits, TabularReport

# How many unknown keys one error names.
UNKNOWN_KEYS_SHOWN = 10


def validate_jsonl(
    source: Path | BinaryIO,
    *,
    columns: list[dict[str, Any]],
    on_row: OnRow | None = None,
    limits: TabularLimits | None = None,
) -> TabularReport:
    """Validate a JSON Lines file (a path, or a binary stream read from where it stands).

    Every non-blank line must be a JSON object with column names as keys; a line that is not
    is an invalid row, not a fatal problem.
    """
    limits = limits or TabularLimits()
    rules = compile_columns(columns)
    report = TabularReport(
        format="jsonl", header=list(rules), missing_by_column=dict.fromkeys(rules, 0)
    )
    with opened(source) as stream:
        lines = LineReader(stream, max_line_bytes=limits.max_line_bytes)
        try:
            for text in lines:
                if text.strip():
                    _check_line(text, lines.line_no, rules, on_row, limits, report)
        except LineRefused as exc:
            report.fatal.append(str(exc))
        report.encoding = lines.encoding
    if not report.fatal and report.rows_total == 0:
        report.fatal.append("the file has no data rows")
    return report


def _check_line(
    text: str,
    line: int,
    rules: dict[str, ColumnRule],
    on_row: OnRow | None,
    limits: TabularLimits,
    report: TabularReport,
) -> None:
    report.rows_total += 1
    row = report.rows_total
    try:
        obj = loads_guarded(text, limits.max_depth)
    except JsonRefused as exc:
        error = CellError(row, line, None, preview(text.strip()), str(exc))
        report.add_invalid_row([error], limits.max_errors)
        return
    if not isinstance(obj, dict):
        reason = f"expected a JSON object, got {json_type_name(obj)}"
        report.add_invalid_row([CellError(row, line, None, None, reason)], limits.max_errors)
        return
    errors: list[CellError] = []
    unknown = [key for key in obj if key not in rules]
    if unknown:
        names = ", ".join(repr(preview(key)) for key in unknown[:UNKNOWN_KEYS_SHOWN])
        extra = len(unknown) - UNKNOWN_KEYS_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        errors.append(CellError(row, line, None, None, f"keys not in the schema: {names}{more}"))
    values: dict[str, Any] = {}
    for name, rule in rules.items():
        raw = obj.get(name)
        if raw is None:
            report.missing_by_column[name] += 1
            values[name] = None
            if rule.required:
                reason = "required but null" if name in obj else "required but missing"
                errors.append(CellError(row, line, name, None, reason))
            continue
        value, problem = check_json_cell(rule, raw)
        if problem is not None:
            report.out_of_range += problem.out_of_range
            shown = preview(json.dumps(raw, ensure_ascii=False))
            errors.append(CellError(row, line, name, shown, problem.reason))
        values[name] = value
    report.finish_row(row, values, errors, on_row, limits.max_errors)
