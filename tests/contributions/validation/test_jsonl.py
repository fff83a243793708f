"""validate_jsonl: one JSON object per line, nesting and length bounded, keys = columns."""

from __future__ import annotations

import io
from typing import Any

from contributions.validation.report import TabularLimits
from contributions.validation.tabular import validate_jsonl

COLUMNS = [
    {"name": "id", "type": "int", "required": True},
    {"name": "tags", "type": "string"},
]


def run(data: bytes, **kw: Any):  # type: ignore[no-untyped-def]
    rows: list[tuple[int, dict[str, Any]]] = []
    report = validate_jsonl(
        io.BytesIO(data), columns=COLUMNS, on_row=lambda i, v: rows.append((i, v)), **kw
    )
    return report, rows


def test_valid_lines_and_blank_lines() -> None:
    report, rows = run(b'{"id": 1, "tags": " x "}\n\n   \n{"id": 2}\n')
    assert report.ok and report.format == "jsonl" and report.header == ["id", "tags"]
    assert rows == [(1, {"id": 1, "tags": "x"}), (2, {"id": 2, "tags": None})]
    assert report.missing_by_column == {"id": 0, "tags": 1}


def test_10000_deep_nesting_is_refused_without_recursion() -> None:
    deep = b'{"id": 1, "tags": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}\n"
    report, rows = run(b'{"id": 1}\n' + deep)
    assert rows == [(1, {"id": 1, "tags": None})]
    (error,) = report.errors
    assert (error.row, error.line, error.reason) == (2, 2, "nested deeper than 32 levels")


def test_row_level_problems() -> None:
    data = b'{"id": 1,}\n[1, 2]\n"text"\n{"id": 3, "colour": "red", "size": 4}\n{"id": NaN}\n'
    report, _ = run(data)
    assert [e.message() for e in report.errors] == [
        "row 1 (line 1): not valid JSON: Expecting property name enclosed in double quotes "
        "at column 10 (got '{\"id\": 1,}')",
        "row 2 (line 2): expected a JSON object, got an array",
        "row 3 (line 3): expected a JSON object, got a string",
        "row 4 (line 4): keys not in the schema: 'colour', 'size'",
        "row 5 (line 5), column 'id': not a whole number (got 'NaN')",
    ]
    assert (report.rows_total, report.rows_invalid) == (5, 5)


def test_line_length_is_bounded() -> None:
    limits = TabularLimits(max_line_bytes=1000)
    report, _ = run(b'{"id": 1}\n{"tags": "' + b"x" * 5000 + b'"}\n', limits=limits)
    assert report.fatal == [
        "line 2 (from byte offset 10) is longer than 1000 bytes; "
        "lines that long are refused rather than read into memory"
    ]
    assert report.rows_valid == 1


def test_not_utf8_is_fatal() -> None:
    report, _ = run(b'{"id": 1, "tags": "caf\xe9"}\n')
    assert report.fatal[0].startswith(
        "the file is not valid UTF-8: byte 0xE9 at offset 22 (line 1) cannot be decoded"
    )


def test_no_rows() -> None:
    assert run(b"\n\n")[0].fatal == ["the file has no data rows"]
