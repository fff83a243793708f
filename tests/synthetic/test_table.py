"""Column-type inference, CSV cells into a typed table, canonical records."""

from __future__ import annotations

import numpy as np
import pytest

from datadao.schema import validate_schema
from synthetic.infer import InputError, infer_schema, parse_rows
from synthetic.table import Table, seconds_to_datetime, train_holdout_split
from tests.synthetic.helpers import mixed_rows


def test_infer_schema_types_required_and_allowed() -> None:
    rows, _ = mixed_rows(120)
    schema = infer_schema(rows, target="grade")
    types = {c["name"]: c["type"] for c in schema["columns"]}
    assert types == {
        "age": "int",
        "score": "float",
        "income": "float",
        "member": "bool",
        "grade": "category",
        "code": "category",
        "joined": "datetime",
    }
    columns = {c["name"]: c for c in schema["columns"]}
    assert columns["grade"]["allowed"] == ["A", "B", "C"]
    assert "required" not in columns["income"]
    assert columns["age"]["required"] is True
    assert schema["target"] == "grade"
    assert validate_schema("tabular", schema) == []


def test_many_distinct_texts_are_free_text() -> None:
    rows = [{"name": f"person {i}", "n": str(i)} for i in range(200)]
    types = [c["type"] for c in infer_schema(rows)["columns"]]
    assert types == ["string", "int"]


def test_parse_rows_refuses_bad_cells_with_line_and_reason() -> None:
    rows, schema = mixed_rows(10)
    rows[2]["age"] = "old"
    rows[4]["score"] = "101"
    with pytest.raises(InputError) as caught:
        parse_rows(rows, schema)
    message = str(caught.value)
    assert "line 4, column 'age': not a whole number" in message
    assert "line 6, column 'score': above the maximum 100" in message


def test_parse_rows_refuses_a_missing_column() -> None:
    rows, schema = mixed_rows(5)
    for row in rows:
        del row["code"]
    with pytest.raises(InputError, match="the CSV has no column 'code'"):
        parse_rows(rows, schema)


def test_records_are_canonical_and_round_trip() -> None:
    rows, schema = mixed_rows(50)
    table = parse_rows(rows, schema)
    records = table.records()
    assert records[0]["joined"].endswith("T00:00:00Z")
    assert isinstance(records[0]["age"], int)
    assert isinstance(records[0]["member"], bool)
    assert any(r["income"] is None for r in records)
    again = Table.from_records(records, table.specs)
    assert again.records() == records
    assert seconds_to_datetime(0.5) == "1970-01-01T00:00:00.500000Z"


def test_split_is_stratified_and_seeded() -> None:
    rows, schema = mixed_rows(100)
    table = parse_rows(rows, schema)
    train, holdout = train_holdout_split(table, holdout_fraction=0.3, seed=1, target="grade")
    assert len(set(train) & set(holdout)) == 0
    assert len(train) + len(holdout) == 100
    assert set(table["grade"][holdout]) == set(table["grade"])
    again = train_holdout_split(table, holdout_fraction=0.3, seed=1, target="grade")
    assert np.array_equal(again[0], train)
