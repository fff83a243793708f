"""The example file a tabular dataset's page offers passes that dataset's own validation."""

from __future__ import annotations

import io

from contributions.example import example_csv
from contributions.validation.csvfile import validate_csv
from tests.contributions.conftest import CSV_SCHEMA

RICH_COLUMNS = [
    {"name": "sensor", "type": "string", "required": True, "max_length": 3},
    {"name": "at", "type": "datetime", "required": True, "min": "2020-01-01", "max": "2020-02-01"},
    {"name": "pm25", "type": "float", "required": True, "min": -1.5, "max": 0.5},
    {"name": "count", "type": "int", "required": True, "min": 10, "max": 12},
    {"name": "indoor", "type": "bool", "required": True},
    {"name": "city", "type": "category", "required": True, "allowed": ["=HYPERLINK()", "Lagos"]},
    {"name": "year", "type": "int", "allowed": [1999, 2001]},
]


def _problems(columns: list[dict], text: str) -> list[str]:  # type: ignore[type-arg]
    report = validate_csv(io.BytesIO(text.encode()), columns=columns)
    return [*report.fatal, *(str(error) for error in report.errors)]


def test_the_example_passes_the_schema_it_was_made_for() -> None:
    for columns in (CSV_SCHEMA["columns"], RICH_COLUMNS):
        example = example_csv(columns)
        assert example.unfilled == []
        assert example.text.splitlines()[0] == ",".join(c["name"] for c in columns)
        assert len(example.text.splitlines()) == 4
        assert _problems(columns, example.text) == []


def test_no_cell_would_run_as_a_spreadsheet_formula() -> None:
    rows = example_csv(RICH_COLUMNS).text.splitlines()[1:]
    assert all(row.split(",")[5] == "Lagos" for row in rows)


def test_a_pattern_no_guess_matches_is_left_for_the_contributor() -> None:
    columns = [
        {"name": "id", "type": "int", "required": True},
        {"name": "plate", "type": "string", "required": True, "regex": "[A-Z]{2}-[0-9]{3}"},
    ]
    example = example_csv(columns)
    assert example.unfilled == ["plate"]
    assert example.text.splitlines()[1:] == ["1,", "2,", "3,"]
