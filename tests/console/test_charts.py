"""console.charts: pure SVG rendering. Well-formed, accessible, escaped, deterministic."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from console import charts
from console.charts import Bar, Series

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    assert root.tag == f"{SVG}svg"
    return root


def _stacked(**overrides):  # type: ignore[no-untyped-def]
    kwargs = {
        "chart_id": "c",
        "title": "Contributions per day",
        "categories": ["05-01", "05-02", "05-03"],
        "series": [Series("pinned", [2, 0, 4]), Series("rejected", [1, 0, 0], style=5)],
        "x_label": "day",
        "y_label": "contributions",
    }
    return charts.stacked_bar_chart(**(kwargs | overrides))


def test_module_imports_no_django() -> None:
    tree = ast.parse(Path(charts.__file__).read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in {"django", "datadao"}]


def test_stacked_bars_are_accessible_and_carry_their_numbers() -> None:
    root = _parse(_stacked())
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Contributions per day"
    assert root.find(f"{SVG}title").text == "Contributions per day"
    desc = root.find(f"{SVG}desc").text
    assert "7 in total" in desc
    assert "6 pinned" in desc and "1 rejected" in desc
    bars = {g.get("data-category"): g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"}
    assert [b.get("data-total") for b in bars.values()] == ["3", "0", "4"]
    first = {r.get("data-series"): r for r in bars["05-01"].iter(f"{SVG}rect")}
    assert first["pinned"].get("data-value") == "2" and first["rejected"].get("data-value") == "1"
    # Heights are proportional: 2 pinned is twice 1 rejected.
    assert float(first["pinned"].get("height")) == pytest.approx(
        2 * float(first["rejected"].get("height")), abs=0.2
    )
    assert first["pinned"].find(f"{SVG}title").text == "05-01: 2 pinned"
    # The day with nothing draws no rect; totals are written as text above the bars.
    assert list(bars["05-02"].iter(f"{SVG}rect")) == []
    totals = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "total"]
    assert totals == ["3", "4"]


def test_series_differ_by_pattern_and_are_named_in_a_legend() -> None:
    svg = _stacked()
    root = _parse(svg)
    patterns = [p.get("id") for p in root.iter(f"{SVG}pattern")]
    assert patterns == ["c-p0", "c-p5"]
    # Style 5 is hatched, not only another colour.
    assert 'id="c-p5"' in svg and re.search(r'id="c-p5"[^>]*>.*?<path d=', svg)
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["pinned", "rejected"]


def test_labels_and_titles_are_escaped() -> None:
    evil = '<script>alert("x")</script> & co'
    svgs = [
        _stacked(title=evil, categories=[evil, "b"], series=[Series(evil, [1, 2])]),
        charts.bar_chart(
            chart_id=evil, title=evil, bars=[Bar(evil, 3)], x_label=evil, y_label=evil
        ),
        charts.line_chart(
            chart_id="l",
            title=evil,
            x_labels=[evil],
            series=[Series(evil, [0.5])],
            x_label=evil,
            y_label=evil,
        ),
        charts.empty_chart(chart_id="e", title=evil, message=evil),
    ]
    for svg in svgs:
        assert "<script>" not in svg
        root = _parse(svg)
        assert root.find(f"{SVG}title").text == evil
        assert root.get("aria-label") == evil


def test_output_is_deterministic() -> None:
    def render() -> str:
        return (
            _stacked()
            + charts.histogram(
                chart_id="h", title="t", edges=[0, 10, 20], counts=[1, 2], x_label="score"
            )
            + charts.line_chart(
                chart_id="l",
                title="t",
                x_labels=["a", "b"],
                series=[Series("alpha", [0.1, 0.2])],
                x_label="run",
                y_label="v",
            )
        )

    assert render() == render()


@pytest.mark.parametrize(
    "svg",
    [
        _stacked(categories=[], series=[]),
        _stacked(series=[Series("pinned", [0, 0, 0])]),
        charts.bar_chart(chart_id="b", title="t", bars=[], x_label="x", y_label="y"),
        charts.histogram(chart_id="h", title="t", edges=[0, 1, 2], counts=[0, 0], x_label="x"),
        charts.line_chart(
            chart_id="l",
            title="t",
            x_labels=["a"],
            series=[Series("alpha", [None])],
            x_label="x",
            y_label="y",
        ),
    ],
)
def test_empty_data_says_so(svg: str) -> None:
    root = _parse(svg)
    assert root.get("role") == "img"
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No data yet"]


def test_empty_message_can_be_specific() -> None:
    svg = _stacked(categories=[], series=[], empty_message="No contributions in 30 days")
    assert "No contributions in 30 days" in svg


def test_histogram_labels_bin_edges_and_heights() -> None:
    root = _parse(
        charts.histogram(
            chart_id="h",
            title="Scores",
            edges=[0, 1000, 2000, 3000],
            counts=[4, 0, 2],
            x_label="score",
        )
    )
    bars = [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"]
    assert [b.get("data-label") for b in bars] == ["0–1,000", "1,000–2,000", "2,000–3,000"]
    heights = [float(b.find(f"{SVG}rect").get("height")) for b in bars]
    assert heights[0] == pytest.approx(2 * heights[2], abs=0.2) and heights[1] == 0
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-tick"]
    assert ticks == ["0", "1,000", "2,000", "3,000"]
    with pytest.raises(ValueError, match="one more edge"):
        charts.histogram(chart_id="h", title="t", edges=[0, 1], counts=[1, 2], x_label="x")


def test_line_chart_breaks_at_gaps_and_marks_series_by_shape() -> None:
    root = _parse(
        charts.line_chart(
            chart_id="l",
            title="Agreement",
            x_labels=["r1", "r2", "r3", "r4"],
            series=[Series("alpha", [0.5, 0.6, None, 0.8]), Series("gold", [0.9, 0.9, 0.95, 1])],
            x_label="run",
            y_label="value",
            y_min=0,
            y_max=1,
        )
    )
    groups = {g.get("data-series"): g for g in root.iter(f"{SVG}g") if g.get("class") == "series"}
    # alpha: a line r1–r2, a gap, then r4 alone (a marker, no line).
    assert len(list(groups["alpha"].iter(f"{SVG}polyline"))) == 1
    assert [c.get("data-value") for c in groups["alpha"].iter(f"{SVG}circle")] == [
        "0.5",
        "0.6",
        "0.8",
    ]
    assert len(list(groups["gold"].iter(f"{SVG}rect"))) == 4  # squares, not circles
    gold_line = next(groups["gold"].iter(f"{SVG}polyline"))
    assert gold_line.get("stroke-dasharray")  # dashed, not only another colour
    titles = [t.text for t in groups["alpha"].iter(f"{SVG}title")]
    assert titles[0] == "r1: alpha 0.50"


def test_bar_chart_writes_values_and_legend() -> None:
    root = _parse(
        charts.bar_chart(
            chart_id="r",
            title="Rewards",
            bars=[
                Bar("#1", 3 * 10**18, display=charts.format_compact(3 * 10**18)),
                Bar("#2", 5 * 10**17, display="5.00e17", style=1, note="open"),
            ],
            x_label="epoch",
            y_label="amount",
            value_format=charts.format_compact,
            legend=[(0, "closed"), (1, "open")],
        )
    )
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["3.00e18", "5.00e17"]
    titles = [
        r.find(f"{SVG}title").text
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    ]
    assert titles == ["#1: 3.00e18", "#2: 5.00e17 (open)"]


def test_formatters() -> None:
    assert charts.format_count(1234.4) == "1,234"
    assert charts.format_compact(999_999) == "999,999"
    assert charts.format_compact(1_500_000) == "1.50e6"
    assert charts.format_compact(2**255) == "5.79e76"
    assert charts.format_ratio(0.5) == "0.50"
