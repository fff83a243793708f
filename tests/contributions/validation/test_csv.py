"""validate_csv: encoding, dialect, header, row structure, counts and canonical rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from contributions.validation.report import TabularLimits
from contributions.validation.tabular import validate_csv, validate_tabular
from tests.contributions.validation.payloads import COLUMNS, CSV_GOOD_ROW, CSV_HEADER, write

SIMPLE = [
    {"name": "id", "type": "int", "required": True},
    {"name": "name", "type": "string"},
    {"name": "city", "type": "string"},
]


def run(data: bytes, columns: list[dict[str, Any]] = SIMPLE, **kw: Any):  # type: ignore[no-untyped-def]
    rows: list[tuple[int, dict[str, Any]]] = []
    report = validate_csv(
        io.BytesIO(data), columns=columns, on_row=lambda i, v: rows.append((i, v)), **kw
    )
    return report, rows


def test_valid_file_gives_canonical_rows_and_counts() -> None:
    report, rows = run(f"{CSV_HEADER}\n{CSV_GOOD_ROW}\n".encode(), COLUMNS)
    assert report.ok
    assert report.to_dict()["rows_total"] == 1
    assert rows == [
        (
            1,
            {
                "id": 7,
                "score": 2.5,
                "active": True,
                "colour": "red",
                "seen": "2024-05-01T10:00:00Z",
                "code": "ABC-12",
                "note": "hello",
                "level": 2,
            },
        )
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(delimiter: str) -> None:
    data = delimiter.join(["id", "name", "city"]) + "\n" + delimiter.join(["1", "Ann", "Oslo"])
    report, rows = run(data.encode())
    assert report.ok and report.delimiter == delimiter
    assert rows == [(1, {"id": 1, "name": "Ann", "city": "Oslo"})]


def test_utf8_bom_is_accepted() -> None:
    report, rows = run("\ufeffid,name,city\n1,Zoë,Köln\n".encode())
    assert report.ok and report.encoding == "utf-8-sig"
    assert report.header == ["id", "name", "city"]
    assert rows[0][1]["city"] == "Köln"


def test_latin1_byte_mid_file_is_fatal_and_located() -> None:
    data = b"id,name,city\n1,Ann,Oslo\n2,Jos\xe9,Lima\n3,Bo,Rome\n"
    report, rows = run(data)
    assert report.fatal == [
        "the file is not valid UTF-8: byte 0xE9 at offset 29 (line 3) cannot be decoded; "
        "that part may be Windows-1252 (Latin-1). Save the file as UTF-8 and upload it again"
    ]
    assert data[29] == 0xE9
    assert not report.ok and report.rows_valid == 1 and len(rows) == 1


def test_mixed_encodings_are_named_as_such() -> None:
    data = "id,name,city\n1,Zoë,Köln\n".encode() + b"2,Jos\xe9,Lima\n"
    report, _ = run(data)
    assert report.fatal[0].startswith(
        "the file mixes text encodings: it contains UTF-8 text, but byte 0xE9 at offset 31 "
        "(line 3) is not UTF-8"
    )


def test_nul_byte_is_fatal() -> None:
    report, _ = run(b"id,name,city\n1,a\x00b,c\n")
    assert report.fatal == [
        "the file has a NUL byte at offset 16 (line 2); text never has one, so this is binary data"
    ]


def test_header_problems_are_all_listed() -> None:
    report, _ = run(b"name,name,colour,,x\n1,2,3,4,5\n")
    assert report.fatal == [
        "the header names column 'name' more than once",
        "header column 4 has no name",
        "the header has columns the schema does not define: 'colour', 'x'",
        "the header lacks required columns: 'id'",
    ]
    assert report.rows_total == 0


def test_optional_columns_may_be_left_out_and_count_as_missing() -> None:
    report, rows = run(b"id\n1\n2\n")
    assert report.ok
    assert report.missing_by_column == {"id": 0, "name": 2, "city": 2}
    assert rows[1] == (2, {"id": 2, "name": None, "city": None})


def test_header_wider_than_schema_plus_slack_is_refused() -> None:
    header = ",".join(f"c{i}" for i in range(20))
    report, _ = run(header.encode() + b"\n")
    assert report.fatal == [
        "the header has 20 columns, but the schema defines 3 (at most 19 are read)"
    ]


def test_wrong_field_count_is_a_row_error_with_physical_line() -> None:
    data = b'id,name,city\n1,"multi\nline",x\n\n2,b\n3,c,d\n'
    report, rows = run(data)
    assert report.fatal == []
    assert (report.rows_total, report.rows_valid, report.rows_invalid) == (3, 2, 1)
    assert [e.message() for e in report.errors] == [
        "row 2 (line 5): has 2 fields, but the header has 3"
    ]
    assert rows[0] == (1, {"id": 1, "name": "multi\nline", "city": "x"})
    assert report.reasons() == [
        "1 of 3 rows are invalid",
        "row 2 (line 5): has 2 fields, but the header has 3",
    ]


def test_bad_quoting_is_fatal() -> None:
    report, _ = run(b'id,name,city\n1,"a"b,c\n')
    assert report.fatal == ["malformed CSV at line 2: ',' expected after '\"'"]


def test_old_mac_line_endings_are_named() -> None:
    report, _ = run(b"id,name,city\r1,a,b\r")
    assert report.fatal == [
        "line 1 has a bare carriage return (\\r) inside a field; save the file with "
        "Windows (\\r\\n) or Unix (\\n) line endings"
    ]


def test_unclosed_quote_at_end_is_fatal() -> None:
    report, _ = run(b'id,name,city\n1,"abc,d\n2,e,f\n')
    assert report.fatal == ["the file ends inside a quoted field: a quote is left open"]


def test_unclosed_quote_spanning_many_lines_is_bounded() -> None:
    limits = TabularLimits(max_line_bytes=1024, max_record_bytes=4096)
    data = b'id,name,city\n1,"open\n' + b"x" * 100 + b"\n" * 5000
    report, _ = run(data, limits=limits)
    assert report.fatal == [
        "the record starting at line 2 is longer than 4.0 KiB; is a quote left open?"
    ]


def test_empty_file_and_header_only() -> None:
    assert run(b"")[0].fatal == ["the file is empty: it has no header row"]
    assert run(b"id,name\n\n")[0].fatal == ["the file has no data rows"]


def test_errors_are_capped_but_counted() -> None:
    data = b"id,name,city\n" + b"x,a,b\n" * 120
    report, _ = run(data, limits=TabularLimits(max_errors=5))
    assert (report.rows_invalid, report.errors_total, len(report.errors)) == (120, 120, 5)
    assert (
        report.errors[-1].message() == "row 5 (line 6), column 'id': not a whole number (got 'x')"
    )
    reasons = report.reasons(limit=3)
    assert reasons[0] == "120 of 120 rows are invalid"
    assert reasons[-1] == "… and 117 more problems"


def test_long_values_are_truncated_in_errors() -> None:
    report, _ = run(b"id,name,city\n" + b"9" * 500 + b",a,b\n")
    value = report.errors[0].value
    assert value is not None and len(value) == 80 and value.endswith("…")


def test_out_of_range_is_counted() -> None:
    data = f"{CSV_HEADER}\n0,11,yes,red,2024-01-01,ABC-1,x,1\n".encode()
    report, _ = run(data, COLUMNS)
    assert report.out_of_range == 2 and report.errors_total == 2


def test_path_source_and_dispatcher(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", b"id,name,city\n1,a,b\n")
    assert validate_tabular(path, fmt="csv", columns=SIMPLE).ok
    with pytest.raises(ValueError, match="fmt must be 'csv' or 'jsonl', not 'xls'"):
        validate_tabular(path, fmt="xls", columns=SIMPLE)
