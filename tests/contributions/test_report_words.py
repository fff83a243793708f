"""The report in words: known parts get sentences, unknown keys are shown, odd shapes skipped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contributions.report_words import human_size, report_sections


def test_tabular_counts_errors_and_missing_in_words() -> None:
    sections = report_sections(
        {
            "validation": {
                "bytes": 10,
                "tabular": {
                    "rows_total": 3,
                    "rows_valid": 1,
                    "rows_invalid": 2,
                    "fatal": ["the header has no column 'id'"],
                    "errors": [{"row": 2, "line": 3, "column": "a", "value": "x", "reason": "r"}]
                    * 30,
                    "errors_total": 45,
                    "missing_by_column": {"a": 2, "b": "n/a"},
                },
            }
        }
    )
    file, rows = sections
    assert file.sentences == ["10 bytes received."]
    assert "1 of 3 rows are valid." in rows.sentences
    assert "The whole file was refused: the header has no column 'id'." in rows.sentences
    assert "The first 20 of 45 problems are listed." in rows.sentences
    assert len(rows.errors) == 20 and rows.missing == [("a", 2)]


def test_unknown_and_novelty_keys_are_shown_not_dropped() -> None:
    sections = report_sections(
        {"validation": {"image": {"width": 4, "height": 3}}, "novelty": {"new": 6, "of": 10}}
    )
    titles = [s.title for s in sections]
    assert titles == ["File", "Image", "Novelty"]
    assert ("Width", "4") in sections[1].facts and ("New", "6") in sections[2].facts
    assert report_sections({"novelty": "6 of 10 rows are new"})[0].sentences == [
        "6 of 10 rows are new"
    ]


def test_human_size() -> None:
    assert human_size(1) == "1 byte" and human_size(1023) == "1023 bytes"
    assert human_size(2048) == "2.0 KiB" and human_size(3 * 1024**3) == "3.0 GiB"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_report_renders_without_error(report: object) -> None:
    # Whatever a stage stores, the page shows something rather than failing.
    for section in report_sections(report) + report_sections({"validation": report}):
        assert isinstance(section.title, str)
        assert all(isinstance(label, str) and isinstance(v, str) for label, v in section.facts)
