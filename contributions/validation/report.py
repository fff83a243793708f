"""The outcome of validating a tabular file: counts, the first errors, and fatal problems.

Pure: no Django imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MEBIBYTE = 1024 * 1024
# on_row(row, values): called for each valid row with its 1-based number and canonical values.
OnRow = Callable[[int, dict[str, Any]], None]


@dataclass(frozen=True)
class TabularLimits:
    """Bounds that keep validation fast and in constant memory whatever the file holds.

    ``header_slack``: a CSV header may name at most this many columns beyond the schema's
    before it is refused outright (up to that, unknown names are listed one by one).
    """

    max_line_bytes: int = MEBIBYTE
    max_record_bytes: int = MEBIBYTE
    header_slack: int = 16
    max_errors: int = 50
    max_depth: int = 32


@dataclass(frozen=True)
class CellError:
    """One refused cell (``column`` set) or row (``column`` None).

    ``row`` is the 1-based data row (header and blank lines not counted); ``line`` the 1-based
    physical line where the row starts; ``value`` a preview of the offending value, if any.
    """

    row: int
    line: int
    column: str | None
    value: str | None
    reason: str

    def message(self) -> str:
        where = f"row {self.row} (line {self.line})"
        if self.column is not None:
            where += f", column {self.column!r}"
        got = f" (got {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{got}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass
class TabularReport:
    """What validating a CSV or JSON Lines file found.

    ``fatal`` lists problems that reject the whole file (bad encoding, bad header, malformed
    CSV, no data rows); validation stops at the first one met while streaming. ``errors`` holds
    the first ``TabularLimits.max_errors`` row/cell errors, ``errors_total`` counts them all.
    ``header`` is the CSV header as read (the schema's column names for JSON Lines);
    ``missing_by_column`` counts empty/absent/null cells per schema column, over all rows;
    ``columns`` is the number of schema columns (cells per row for ratios); ``out_of_range``
    counts min/max violations. ``ok`` is the verdict: no fatal problem and every row valid.
    """

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header: list[str] = field(default_factory=list)
    rows_total: int = 0
    rows_valid: int = 0
    rows_invalid: int = 0
    missing_by_column: dict[str, int] = field(default_factory=dict)
    out_of_range: int = 0
    errors: list[CellError] = field(default_factory=list)
    errors_total: int = 0
    fatal: list[str] = field(default_factory=list)

    @property
    def columns(self) -> int:
        return len(self.missing_by_column)

    @property
    def ok(self) -> bool:
        return not self.fatal and self.rows_invalid == 0 and self.rows_total > 0

    def add_invalid_row(self, errors: list[CellError], max_errors: int) -> None:
        """Count one invalid row and keep its errors while fewer than ``max_errors`` are kept."""
        self.rows_invalid += 1
        self.errors_total += len(errors)
        room = max_errors - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def finish_row(
        self,
        row: int,
        values: dict[str, Any],
        errors: list[CellError],
        on_row: OnRow | None,
        max_errors: int,
    ) -> None:
        """Count a checked row as invalid (``errors``) or valid, handing a valid one to on_row."""
        if errors:
            self.add_invalid_row(errors, max_errors)
            return
        self.rows_valid += 1
        if on_row is not None:
            on_row(row, values)

    def reasons(self, limit: int = 10) -> list[str]:
        """Messages for the contributor: fatal problems, then a summary and the first errors."""
        reasons = list(self.fatal)
        if self.rows_invalid:
            reasons.append(f"{self.rows_invalid} of {self.rows_total} rows are invalid")
            reasons.extend(error.message() for error in self.errors[:limit])
            if self.errors_total > limit:
                reasons.append(f"… and {self.errors_total - limit} more problems")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header": list(self.header),
            "columns": self.columns,
            "rows_total": self.rows_total,
            "rows_valid": self.rows_valid,
            "rows_invalid": self.rows_invalid,
            "missing_by_column": dict(self.missing_by_column),
            "out_of_range": self.out_of_range,
            "errors": [error.to_dict() for error in self.errors],
            "errors_total": self.errors_total,
            "fatal": list(self.fatal),
        }
