"""One refusal per schema constraint, with its exact reason, for CSV and JSON Lines cells."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from contributions.validation.cells import REGEX_MAX_CHARS
from contributions.validation.tabular import validate_csv, validate_jsonl
from tests.contributions.validation.payloads import COLUMNS, CSV_GOOD_ROW, CSV_HEADER


def csv_cell_error(column: str, raw: str) -> tuple[str, str | None]:
    """Put ``raw`` into ``column`` of an otherwise valid row; return the one error's reason."""
    header = CSV_HEADER.split(",")
    row = CSV_GOOD_ROW.split(",")
    row[header.index(column)] = raw
    data = f"{CSV_HEADER}\n{','.join(row)}\n".encode()
    report = validate_csv(io.BytesIO(data), columns=COLUMNS)
    assert report.fatal == []
    assert (report.rows_total, report.rows_invalid, report.errors_total) == (1, 1, 1)
    (error,) = report.errors
    assert (error.row, error.line, error.column) == (1, 2, column)
    return error.reason, error.value


GOOD_OBJECT: dict[str, Any] = {
    "id": 7,
    "score": 2.5,
    "active": True,
    "colour": "red",
    "seen": "2024-05-01T12:00:00+02:00",
    "code": "ABC-12",
    "note": "hello",
    "level": 2,
}


def json_cell_error(column: str, raw: Any) -> str:
    obj = {**GOOD_OBJECT, column: raw}
    report = validate_jsonl(io.BytesIO(json.dumps(obj).encode() + b"\n"), columns=COLUMNS)
    assert (report.rows_total, report.rows_invalid, report.errors_total) == (1, 1, 1)
    (error,) = report.errors
    assert error.column == column
    return error.reason


@pytest.mark.parametrize(
    ("column", "raw", "reason"),
    [
        ("id", "4.0", "not a whole number"),
        ("id", "1_000", "not a whole number"),
        ("id", "١٢", "not a whole number"),
        ("id", "0", "below the minimum 1"),
        ("id", "1001", "above the maximum 1000"),
        ("score", "abc", "not a number"),
        ("score", "nan", "not a number"),
        ("score", "1e999", "not a finite number"),
        ("score", "-0.5", "below the minimum 0"),
        ("score", "10.01", "above the maximum 10"),
        ("active", "maybe", "not a boolean (use true/false, yes/no or 1/0)"),
        ("colour", "blue", "not one of the allowed values (red, green)"),
        ("seen", "yesterday", "not an ISO 8601 date-time"),
        ("seen", "2019-12-31T23:59:59", "below the minimum 2020-01-01T00:00:00Z"),
        ("seen", "2030-01-01T01:00:00+00:00", "above the maximum 2030-01-01T00:00:00Z"),
        ("code", "abc-12", "does not match the pattern '[A-Z]{3}-[0-9]+'"),
        ("code", "ABC-123456789", "longer than 12 characters (13)"),
        ("level", "4", "not one of the allowed values (1, 2, 3)"),
    ],
)
def test_csv_cell_refusals(column: str, raw: str, reason: str) -> None:
    assert csv_cell_error(column, raw) == (reason, raw)


def test_required_csv_cell_that_is_empty() -> None:
    assert csv_cell_error("id", "  ") == ("required but empty", None)


@pytest.mark.parametrize(
    ("column", "raw", "reason"),
    [
        ("id", "7", "expected a whole number, got a string"),
        ("id", 7.5, "not a whole number"),
        ("id", True, "expected a whole number, got a boolean"),
        ("score", "2.5", "expected a number, got a string"),
        ("score", float("inf"), "not a finite number"),
        ("score", 10**400, "not a finite number"),
        ("active", 1, "expected true or false, got a number"),
        ("colour", ["red"], "expected a string, got an array"),
        ("colour", "blue", "not one of the allowed values (red, green)"),
        ("seen", 1714557600, "expected a string, got a number"),
        ("seen", "2024-13-01", "not an ISO 8601 date-time"),
        ("code", "abc", "does not match the pattern '[A-Z]{3}-[0-9]+'"),
        ("note", {"a": 1}, "expected a string, got an object"),
        ("level", 9, "not one of the allowed values (1, 2, 3)"),
    ],
)
def test_json_cell_refusals(column: str, raw: Any, reason: str) -> None:
    assert json_cell_error(column, raw) == reason


def test_required_json_key_missing_or_null() -> None:
    obj = {k: v for k, v in GOOD_OBJECT.items() if k != "id"}
    missing = validate_jsonl(io.BytesIO(json.dumps(obj).encode()), columns=COLUMNS)
    assert [e.reason for e in missing.errors] == ["required but missing"]
    null = validate_jsonl(io.BytesIO(json.dumps({**obj, "id": None}).encode()), columns=COLUMNS)
    assert [e.reason for e in null.errors] == ["required but null"]


def test_regex_is_only_run_on_bounded_cells() -> None:
    columns = [{"name": "t", "type": "string", "regex": "(a|aa)+"}]
    data = b"t\n" + b"a" * (REGEX_MAX_CHARS + 1) + b"\n"
    report = validate_csv(io.BytesIO(data), columns=columns)
    assert report.errors[0].reason == (
        f"too long to check against the pattern (over {REGEX_MAX_CHARS} characters)"
    )


def test_category_matching_ignores_unicode_composition() -> None:
    columns = [{"name": "c", "type": "category", "allowed": ["café"]}]
    decomposed = "c\ncafe\u0301\n".encode()
    values: list[dict[str, Any]] = []
    report = validate_csv(
        io.BytesIO(decomposed), columns=columns, on_row=lambda _, v: values.append(v)
    )
    assert report.ok
    assert values == [{"c": "café"}]
