"""Streaming validation of CSV and JSON Lines files against a tabular schema's ``columns``.

Pure: no Django imports. Memory stays constant in the number of rows: the file is read one
bounded line at a time (``lines.LineReader``), only the first ``max_errors`` errors are kept,
and valid rows are handed to ``on_row`` rather than collected.

* CSV (``csvfile``): UTF-8 (a BOM is allowed); the delimiter (, ; tab |) is detected on a
  bounded prefix; the header (first non-blank record, names stripped, case-sensitive) must
  name every required column, no unknown or duplicate column, and at most
  ``len(columns) + header_slack`` columns. Schema columns missing from the header are
  optional ones and count as missing on every row. Quoting is strict: ``"a"b`` is malformed.
* JSON Lines (``jsonl``): every non-blank line is one JSON object (nesting at most
  ``max_depth``) whose keys are column names.

In both, blank lines are skipped, and cells are checked and canonicalized by ``cells``.
Encoding problems, NUL bytes, over-long lines or records and malformed CSV are fatal and stop
validation; a bad row is counted and reported, and validation goes on. ``on_row(row,
values)`` is called for each valid row with its 1-based row number and canonical values,
every schema column present (missing → None); ``rowkey.normalized_row_key`` turns them into
bytes to hash. The only exceptions raised are ``OSError`` from reading and whatever
``on_row`` raises; every problem in the file is reported in the returned ``TabularReport``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from .csvfile import validate_csv
from .jsonl import validate_jsonl
from .report import OnRow, TabularLimits, TabularReport

__all__ = ["validate_csv", "validate_jsonl", "validate_tabular"]


def validate_tabular(
    source: Path | BinaryIO,
    *,
    fmt: str,
    columns: list[dict[str, Any]],
    on_row: OnRow | None = None,
    limits: TabularLimits | None = None,
) -> TabularReport:
    """Validate ``source`` as ``fmt`` ("csv" or "jsonl"); see the module doc for the rules."""
    if fmt == "csv":
        return validate_csv(source, columns=columns, on_row=on_row, limits=limits)
    if fmt == "jsonl":
        return validate_jsonl(source, columns=columns, on_row=on_row, limits=limits)
    raise ValueError(f"fmt must be 'csv' or 'jsonl', not {fmt!r}")
