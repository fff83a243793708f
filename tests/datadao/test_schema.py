"""Dataset schema validation (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datadao.schema import SchemaError, check_schema, validate_schema

GOOD = {
    "tabular": {
        "columns": [
            {"name": "id", "type": "int", "required": True, "min": 0, "max": 10},
            {"name": "score", "type": "float", "min": -1.5, "max": 1.5},
            {"name": "ok", "type": "bool"},
            {"name": "note", "type": "string", "regex": "^[a-z ]*$", "max_length": 40},
            {"name": "kind", "type": "category", "allowed": ["x", "y"]},
            {"name": "at", "type": "datetime", "min": "2020-01-01T00:00:00Z"},
        ],
        "target": "kind",
        "max_size": 1024,
        "constraints": ["id<=score", "range:id:0:10", "fixed:ok,kind"],
    },
    "files": {
        "media_types": ["image/png", "text/plain"],
        "max_size": 5_000_000,
        "image": {"min_width": 10, "max_width": 100, "min_height": 10},
    },
    "labeling": {
        "labels": ["cat", "dog"],
        "overlap": 3,
        "max_overlap": 5,
        "gold_rate": 0.1,
        "confidence_target": 0.95,
        "item_kind": "image",
    },
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_schemas_pass(kind: str) -> None:
    assert validate_schema(kind, GOOD[kind]) == []
    check_schema(kind, GOOD[kind])  # does not raise


def _tab(**column: object) -> dict[str, object]:
    return {"columns": [{"name": "c", "type": "int", **column}]}


BAD = [
    ("tabular", [], "schema: must be a JSON object, not a list"),
    ("tabular", {}, "columns: must be a non-empty list"),
    ("tabular", {"columns": []}, "columns: must be a non-empty list"),
    ("tabular", {"columns": ["x"]}, "columns[0]: must be an object, not a string"),
    ("tabular", {"columns": [{"type": "int"}]}, "columns[0].name: required"),
    ("tabular", {"columns": [{"name": "1a", "type": "int"}]}, "columns[0].name: '1a' must start"),
    ("tabular", _tab(type="integer"), "columns[0].type: must be one of int, float"),
    ("tabular", _tab(requried=True), "columns[0].requried: unknown key"),
    ("tabular", {**_tab(), "constraints": "c<=d"}, "constraints: must be a list of at most 50"),
    ("tabular", {**_tab(), "constraints": [1]}, "constraints: must be a list of at most 50"),
    ("tabular", _tab(required="yes"), "columns[0].required: must be true or false"),
    ("tabular", _tab(min=5, max=1), "columns[0].min: 5 is greater than max 1"),
    ("tabular", _tab(min=1.5), "columns[0].min: must be a whole number"),
    ("tabular", _tab(min=True), "columns[0].min: must be a whole number, not a boolean"),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "bool", "min": 0}]},
        "only int, float and datetime",
    ),
    ("tabular", {"columns": [{"name": "c", "type": "datetime", "min": "soon"}]}, "ISO 8601"),
    ("tabular", {"columns": [{"name": "c", "type": "category"}]}, "allowed: required for category"),
    ("tabular", {"columns": [{"name": "c", "type": "category", "allowed": []}]}, "non-empty list"),
    ("tabular", {"columns": [{"name": "c", "type": "category", "allowed": ["a", "a"]}]}, "unique"),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "string", "regex": "(["}]},
        "not a valid regular expression",
    ),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "float", "regex": "a"}]},
        "only string and category columns take a regex",
    ),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "string", "max_length": 0}]},
        "max_length: must be a whole number from 1",
    ),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "int"}, {"name": "c", "type": "int"}]},
        "duplicate column name 'c'",
    ),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "int"}], "target": "z"},
        "target: 'z' is not one of the columns",
    ),
    (
        "tabular",
        {"columns": [{"name": f"c{i}", "type": "int"} for i in range(1001)]},
        "at most 1000 columns",
    ),
    (
        "tabular",
        {"columns": [{"name": "c", "type": "int"}], "max_size": -1},
        "max_size: must be a whole number",
    ),
    ("files", {}, "media_types: must be a non-empty list"),
    ("files", {"media_types": ["text/html"]}, "media_types[0]: 'text/html' is not supported"),
    (
        "files",
        {"media_types": ["image/png"], "image": {"min_width": 0}},
        "image.min_width: must be a whole number from 1",
    ),
    (
        "files",
        {"media_types": ["image/png"], "image": {"min_height": 9, "max_height": 3}},
        "image.min_height: 9 is greater than max_height 3",
    ),
    (
        "files",
        {"media_types": ["text/plain"], "image": {"min_width": 3}},
        "image limits need at least one image/*",
    ),
    ("files", {"media_types": ["image/png"], "image": {"depth": 3}}, "image.depth: unknown key"),
    ("labeling", {"labels": ["only"]}, "labels: must be a list of at least 2 labels"),
    ("labeling", {"labels": ["a", "a"]}, "labels: values must be unique"),
    ("labeling", {"labels": ["a", " "]}, "labels[1]: must be a non-blank string"),
    (
        "labeling",
        {"labels": ["a", "b"], "overlap": 0},
        "overlap: must be a whole number from 1 to 20",
    ),
    (
        "labeling",
        {"labels": ["a", "b"], "overlap": 4, "max_overlap": 2},
        "max_overlap: 2 is less than overlap 4",
    ),
    (
        "labeling",
        {"labels": ["a", "b"], "gold_rate": 0.9},
        "gold_rate: must be a number in [0.0, 0.5]",
    ),
    (
        "labeling",
        {"labels": ["a", "b"], "suggestion_rate": 1.5},
        "suggestion_rate: must be a number in [0.0, 1.0]",
    ),
    (
        "labeling",
        {"labels": ["a", "b"], "confidence_target": 0.5},
        "confidence_target: must be a number in (0.5, 1.0]",
    ),
    (
        "labeling",
        {"labels": ["a", "b"], "item_kind": "video"},
        "item_kind: must be one of image, text, row",
    ),
    ("video", {}, "kind: must be one of tabular, files, labeling"),
]


@pytest.mark.parametrize(("kind", "schema", "expected"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_schema_names_the_fault(kind: str, schema: object, expected: str) -> None:
    errors = validate_schema(kind, schema)
    assert any(expected in error for error in errors), errors


def test_every_fault_is_reported_at_once() -> None:
    schema = {"columns": [{"name": "a", "type": "nope"}, {"type": "int", "min": "x"}]}
    with pytest.raises(SchemaError) as excinfo:
        check_schema("tabular", schema)
    assert len(excinfo.value.errors) == 3
    assert "columns[0].type" in str(excinfo.value)
    assert "columns[1].name" in str(excinfo.value)
    assert "columns[1].min" in str(excinfo.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(kind=st.sampled_from(["tabular", "files", "labeling"]), schema=JSON)
def test_any_json_gives_a_list_of_messages_never_an_exception(kind: str, schema: object) -> None:
    errors = validate_schema(kind, schema)
    assert isinstance(errors, list)
    assert all(isinstance(e, str) and e for e in errors)
    # Only a dict can possibly be valid.
    if not isinstance(schema, dict):
        assert errors


def test_scoring_policy_defaults_and_faults() -> None:
    from datadao.schema import scoring_policy, validate_scoring

    assert validate_scoring({}) == []
    assert scoring_policy({"threshold": 7000})["weights"]["quality"] == 2
    assert scoring_policy({"weights": {"quality": 5}})["weights"] == {
        "authenticity": 1,
        "ownership": 1,
        "quality": 5,
        "uniqueness": 2,
    }
    faults = validate_scoring(
        {"weights": {"beauty": 1, "quality": -1}, "threshold": 20000, "text_jaccard": 2}
    )
    assert "scoring.weights.beauty: unknown key" in faults[0]
    assert any("scoring.weights.quality: must be a whole number from 0 to 100" in f for f in faults)
    assert any("scoring.threshold" in f for f in faults)
    assert any("scoring.text_jaccard" in f for f in faults)
    zero = {"authenticity": 0, "ownership": 0, "quality": 0, "uniqueness": 0}
    assert validate_scoring({"weights": zero}) == [
        "scoring.weights: at least one weight must be above 0"
    ]
    assert validate_scoring([]) == ["scoring: must be a JSON object, not a list"]
