"""Form text <-> schema JSON for the console's schema builder (pure: no database)."""

from __future__ import annotations

from typing import Any

import pytest

from datadao.schema import empty_schema, validate_schema
from datadao.schema_text import (
    BUILDER_MAX_COLUMNS,
    column_fields,
    column_json,
    files_fields,
    files_json,
    labeling_fields,
    labeling_json,
    representable,
)


@pytest.mark.parametrize(
    "column",
    [
        {"name": "a", "type": "float", "min": -1.5, "max": 10.0},
        {"name": "b", "type": "int", "allowed": [1, 2, 3], "required": True},
        {"name": "c", "type": "string", "regex": " x ", "max_length": 3},
        {"name": "d", "type": "datetime", "min": "2020-01-01", "max": "2030-01-01T00:00:00Z"},
        {"name": "e", "type": "category", "allowed": ["a, b", "c"]},
        {"name": "f", "type": "float", "min": 1e-07, "max": 1e20},
    ],
)
def test_a_column_round_trips_through_its_fields(column: dict[str, Any]) -> None:
    assert column_json(column_fields(column)) == column
    assert representable("tabular", {"columns": [column]})


def test_typed_text_becomes_json_as_typed_for_the_validator_to_judge() -> None:
    fields = {"name": " age ", "type": "int", "min": "ten", "max": "1e400", "allowed": "1\nx\n"}
    column = column_json(fields)
    # Not numbers: kept as strings, which the validator names; an infinite float is refused.
    assert column == {
        "name": "age",
        "type": "int",
        "min": "ten",
        "max": "1e400",
        "allowed": [1, "x"],
    }
    errors = validate_schema("tabular", {"columns": [column]})
    assert "columns[0].min: must be a whole number, not a string" in errors
    assert "columns[0].allowed: every value must be one of the whole numbers; 'x' is not" in errors


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        ("tabular", {"columns": [{"name": "x", "type": "int", "required": False}]}),
        ("tabular", {"columns": [{"name": "x", "type": "int", "min": True}]}),
        ("tabular", {"columns": [{"name": "x", "type": "int"}], "target": " x"}),
        (
            "tabular",
            {"columns": [{"name": f"c{i}", "type": "int"} for i in range(BUILDER_MAX_COLUMNS + 1)]},
        ),
        ("files", {"media_types": ["image/jpeg", "image/png"]}),
        ("files", {"media_types": ["image/png"], "image": {}}),
        ("files", {"media_types": ["image/tiff"]}),
        ("labeling", {"labels": [" padded", "x"]}),
        ("labeling", {"labels": ["a", "b"], "multi_choice": False}),
        ("labeling", {"labels": [1, 2]}),
        ("labeling", ["not", "an", "object"]),
    ],
)
def test_what_the_builder_cannot_show_exactly_is_edited_as_json(kind: str, schema: Any) -> None:
    assert not representable(kind, schema)


def test_files_and_labeling_round_trip_and_empty_schemas_are_representable() -> None:
    files = {"media_types": ["image/png", "image/webp"], "image": {"max_width": 10}, "max_size": 9}
    assert files_json(files_fields(files)) == files
    labeling = {
        "labels": ["yes", "no"],
        "gold_rate": 0.25,
        "item_kind": "row",
        "overlap": 2,
        "suggestion_rate": 0.8,
    }
    assert labeling_json(labeling_fields(labeling)) == labeling
    for kind in ("tabular", "files", "labeling"):
        assert representable(kind, empty_schema(kind))
