"""Streaming validation of a CSV file against tabular ``columns`` (rules in ``tabular``).

Pure: no Django imports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .base import human_size, preview
from .cells import ColumnRule, check_csv_cell, compile_columns
from .dialect import detect_delimiter
from .encoding import UTF8_BOM
from .lines import LineReader, LineRefused, LineTooLong, opened
from .report import CellError, OnRow, TabularLimits, TabularReport

DIALECT_SAMPLE_BYTES = 64 * 1024


def validate_csv(
    source: Path | BinaryIO,
    *,
    columns: list[dict[str, Any]],
    on_row: OnRow | None = None,
    limits: TabularLimits | None = None,
) -> TabularReport:
    """Validate a CSV file (a path, or a seekable binary stream read from its start).

    Sets ``csv.field_size_limit`` (a process-wide setting) to ``limits.max_record_bytes``.
    """
    limits = limits or TabularLimits()
    rules = compile_columns(columns)
    report = TabularReport(format="csv", missing_by_column=dict.fromkeys(rules, 0))
    with opened(source) as stream:
        delimiter = _detect(stream)
        report.delimiter = delimiter
        lines = LineReader(stream, max_line_bytes=limits.max_line_bytes)
        records = _RecordLines(lines, limits.max_record_bytes)
        # Process-wide, but every CSV reader in a worker that handles uploads should be bounded.
        csv.field_size_limit(limits.max_record_bytes)
        reader = csv.reader(records, delimiter=delimiter, quotechar='"', strict=True)
        try:
            header = _read_header(reader, records, rules, limits, report)
            if header is not None:
                _check_rows(reader, records, header, rules, on_row, limits, report)
        except LineRefused as exc:
            report.fatal.append(_header_too_wide(exc, delimiter, rules, limits) or str(exc))
        except csv.Error as exc:
            report.fatal.append(_csv_error_message(exc, lines.line_no, limits))
        report.encoding = lines.encoding
    if not report.fatal and report.rows_total == 0:
        report.fatal.append("the file has no data rows")
    return report


class _RecordTooLong(LineRefused):
    pass


class _RecordLines:
    """Lines for ``csv.reader``, refusing a record (quoted newlines included) over a limit."""

    def __init__(self, lines: LineReader, limit: int) -> None:
        self.lines = lines
        self.limit = limit
        self.start_offset = 0
        self.start_line = 1

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        text = next(self.lines)
        if self.lines.offset - self.start_offset > self.limit:
            raise _RecordTooLong(
                f"the record starting at line {self.start_line} is longer than "
                f"{human_size(self.limit)}; is a quote left open?"
            )
        return text

    def next_record(self) -> None:
        self.start_offset = self.lines.offset
        self.start_line = self.lines.line_no + 1


def _detect(stream: BinaryIO) -> str:
    sample = stream.read(DIALECT_SAMPLE_BYTES + 1)
    stream.seek(0)
    complete = len(sample) <= DIALECT_SAMPLE_BYTES
    sample = sample[:DIALECT_SAMPLE_BYTES].removeprefix(UTF8_BOM)
    if not complete and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    guess = detect_delimiter(sample.decode("utf-8", "replace"), complete=complete)
    # No delimiter gives two fields: a one-column file, where "," is as good as any.
    return guess.delimiter or ","


def _read_header(
    reader: Iterator[list[str]],
    records: _RecordLines,
    rules: dict[str, ColumnRule],
    limits: TabularLimits,
    report: TabularReport,
) -> list[str] | None:
    header = next((row for row in reader if row), None)
    records.next_record()
    if header is None:
        report.fatal.append("the file is empty: it has no header row")
        return None
    names = [name.strip() for name in header]
    report.header = names
    if len(names) > len(rules) + limits.header_slack:
        report.fatal.append(_too_wide_message(str(len(names)), rules, limits))
        return None
    seen: set[str] = set()
    for index, name in enumerate(names, start=1):
        if not name:
            report.fatal.append(f"header column {index} has no name")
        elif name in seen:
            report.fatal.append(f"the header names column {name!r} more than once")
        seen.add(name)
    unknown = [name for name in names if name and name not in rules]
    if unknown:
        report.fatal.append(
            "the header has columns the schema does not define: "
            + ", ".join(repr(preview(name)) for name in unknown)
        )
    missing = [name for name, rule in rules.items() if rule.required and name not in seen]
    if missing:
        report.fatal.append(
            "the header lacks required columns: " + ", ".join(repr(name) for name in missing)
        )
    return None if report.fatal else names


def _too_wide_message(count: str, rules: dict[str, ColumnRule], limits: TabularLimits) -> str:
    return (
        f"the header has {count} columns, but the schema defines {len(rules)} "
        f"(at most {len(rules) + limits.header_slack} are read)"
    )


def _header_too_wide(
    exc: LineRefused, delimiter: str, rules: dict[str, ColumnRule], limits: TabularLimits
) -> str | None:
    """For an over-long first line, name the column count when that is the real problem."""
    if not isinstance(exc, LineTooLong) or exc.line != 1:
        return None
    fields = exc.head.count(delimiter.encode()) + 1
    if fields <= len(rules) + limits.header_slack:
        return None
    return _too_wide_message(f"more than {fields - 1}", rules, limits)


def _check_rows(
    reader: Iterator[list[str]],
    records: _RecordLines,
    header: list[str],
    rules: dict[str, ColumnRule],
    on_row: OnRow | None,
    limits: TabularLimits,
    report: TabularReport,
) -> None:
    width = len(header)
    absent = [name for name in rules if name not in header]
    missing = report.missing_by_column
    for fields in reader:
        line = records.start_line
        records.next_record()
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        report.rows_total += 1
        row = report.rows_total
        if len(fields) != width:
            reason = f"has {len(fields)} fields, but the header has {width}"
            report.add_invalid_row([CellError(row, line, None, None, reason)], limits.max_errors)
            continue
        values: dict[str, Any] = {}
        errors: list[CellError] = []
        for name, raw in zip(header, fields, strict=True):
            rule = rules[name]
            if not raw or raw.isspace():
                missing[name] += 1
                values[name] = None
                if rule.required:
                    errors.append(CellError(row, line, name, None, "required but empty"))
                continue
            value, problem = check_csv_cell(rule, raw)
            if problem is not None:
                report.out_of_range += problem.out_of_range
                errors.append(CellError(row, line, name, preview(raw), problem.reason))
            values[name] = value
        for name in absent:
            missing[name] += 1
            values[name] = None
        report.finish_row(row, values, errors, on_row, limits.max_errors)


def _csv_error_message(exc: csv.Error, line: int, limits: TabularLimits) -> str:
    text = str(exc)
    if text.startswith("field larger than field limit"):
        return (
            f"a field near line {line} is longer than {human_size(limits.max_record_bytes)}; "
            "is a quote left open?"
        )
    if "unexpected end of data" in text:
        return "the file ends inside a quoted field: a quote is left open"
    if text.startswith("new-line character seen in unquoted field"):
        return (
            f"line {line} has a bare carriage return (\\r) inside a field; save the file with "
            "Windows (\\r\\n) or Unix (\\n) line endings"
        )
    return f"malformed CSV at line {line}: {text}"
