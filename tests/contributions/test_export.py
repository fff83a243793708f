"""The pure export module: formula escaping, the merged CSV and the Parquet file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contributions.export import (
    TabularSource,
    escape_formula,
    provenance_names,
    write_csv,
    write_parquet,
)

COLUMNS = [
    {"name": "id", "type": "int", "required": True},
    {"name": "note", "type": "string"},
    {"name": "when", "type": "datetime"},
    {"name": "flag", "type": "bool"},
]


@pytest.mark.parametrize("cell", ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "=HYPERLINK(1)"])
def test_cells_a_spreadsheet_would_evaluate_are_prefixed(cell: str) -> None:
    assert escape_formula(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "x", "1-2", "a=b", " =1", "'=1", "0x12"])
def test_other_cells_are_unchanged(cell: str) -> None:
    assert escape_formula(cell) == cell


def _write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _sources(tmp_path: Path, *, delimiters: bool) -> list[TabularSource]:
    comma = _write(tmp_path, "a.csv", "id,note,when,flag\n1,=1+1,2024-01-01T02:00:00+02:00,yes\n")
    semi = _write(
        tmp_path, "b.csv", "flag;id;note\r\n0;2;-x\r\n\r\n1;3;plain\r\n", bom=True
    )  # other column order, a BOM, CRLF, a blank line, and no "when" column at all
    lines = _write(tmp_path, "c.jsonl", '{"id": 4, "note": "@x", "flag": false}\n\n')
    return [
        TabularSource(comma, "text/csv", 11, "0xA", "," if delimiters else None),
        TabularSource(semi, "text/csv", 12, "0xB", ";" if delimiters else None),
        TabularSource(lines, "application/x-ndjson", 13, "0xC"),
    ]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_merged_csv_has_schema_order_provenance_and_escaped_cells(tmp_path: Path) -> None:
    out = io.BytesIO()
    stats = write_csv(_sources(tmp_path, delimiters=True), COLUMNS, out)
    assert stats.rows == 4
    rows = _csv_rows(out.getvalue())
    assert rows[0] == ["id", "note", "when", "flag", "_contribution", "_contributor"]
    assert rows[1:] == [
        ["1", "'=1+1", "2024-01-01T00:00:00Z", "true", "11", "0xA"],
        ["2", "'-x", "", "false", "12", "0xB"],
        ["3", "plain", "", "true", "12", "0xB"],
        ["4", "'@x", "", "false", "13", "0xC"],
    ]
    # The delimiter is detected again, the same way as validation, when it is not given.
    again = io.BytesIO()
    write_csv(_sources(tmp_path, delimiters=False), COLUMNS, again)
    assert again.getvalue() == out.getvalue()


def test_negative_numbers_are_not_escaped(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.csv", "id,value\n-5,-2.5\n")
    out = io.BytesIO()
    columns = [{"name": "id", "type": "int"}, {"name": "value", "type": "float"}]
    write_csv([TabularSource(path, "text/csv", 1, "0xA")], columns, out)
    assert _csv_rows(out.getvalue())[1] == ["-5", "-2.5", "1", "0xA"]


def test_cells_that_no_longer_fit_their_type_keep_their_text_escaped(tmp_path: Path) -> None:
    # The schema changed after validation: "note" is now an int and "when" a date-time.
    columns = [
        {"name": "id", "type": "int"},
        {"name": "note", "type": "int"},
        {"name": "when", "type": "datetime"},
    ]
    path = _write(tmp_path, "a.csv", 'id,note,when\n1,"\tx",yesterday\n2,"\rx",\n3,7,\n')
    source = TabularSource(path, "text/csv", 5, "0xA")
    out = io.BytesIO()
    write_csv([source], columns, out)
    rows = _csv_rows(out.getvalue())
    assert [row[1] for row in rows[1:]] == ["'\tx", "'\rx", "7"]
    assert rows[1][2] == "yesterday"
    parquet = io.BytesIO()
    write_parquet([source], columns, parquet)
    table = pq.read_table(io.BytesIO(parquet.getvalue()))
    # No value is lost: such columns become text; Parquet cells are never formula-escaped.
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("note").type == pa.string()
    assert table.schema.field("when").type == pa.string()
    assert table.column("note").to_pylist() == ["\tx", "\rx", "7"]
    assert table.column("when").to_pylist() == ["yesterday", None, None]


def test_parquet_is_typed_nullable_and_written_in_bounded_row_groups(tmp_path: Path) -> None:
    out = io.BytesIO()
    stats = write_parquet(
        _sources(tmp_path, delimiters=True),
        COLUMNS,
        out,
        metadata={"datadao.release": "bafytest"},
        rows_per_group=3,
    )
    assert stats.rows == 4
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert parquet.metadata.num_rows == 4
    assert parquet.metadata.num_row_groups == 2
    schema = parquet.schema_arrow
    assert schema.field("id").type == pa.int64()
    assert schema.field("note").type == pa.string()
    assert schema.field("when").type == pa.timestamp("us", tz="UTC")
    assert schema.field("flag").type == pa.bool_()
    assert schema.field("id").nullable and not schema.field("_contribution").nullable
    assert schema.metadata[b"datadao.release"] == b"bafytest"
    rows = parquet.read().to_pylist()
    assert rows[0]["note"] == "=1+1"  # not escaped: Parquet is not a spreadsheet format
    assert rows[0]["when"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert [row["when"] for row in rows[1:]] == [None, None, None]
    assert [row["_contribution"] for row in rows] == [11, 12, 12, 13]


def test_an_int_beyond_int64_makes_its_parquet_column_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.csv", "id\n1\n99999999999999999999999\n")
    out = io.BytesIO()
    write_parquet([TabularSource(path, "text/csv", 1, "0xA")], [{"name": "id", "type": "int"}], out)
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.column("id").to_pylist() == ["1", "99999999999999999999999"]


def test_provenance_columns_never_clash_with_schema_columns() -> None:
    columns = [{"name": "_contribution", "type": "int"}, {"name": "__contribution", "type": "int"}]
    assert provenance_names(columns) == ("___contribution", "_contributor")
