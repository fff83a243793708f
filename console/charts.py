"""Server-side SVG charts for the console dashboard. Pure: no Django, no I/O, no JavaScript.

Every function returns one self-contained inline ``<svg>`` string that is

* accessible: ``role="img"`` with an ``aria-label``, a ``<title>`` and a ``<desc>`` that sums
  the data up in words, and a ``<title>`` (tooltip) on every bar and point;
* readable without colour: series differ by fill pattern (solid, hatched, dotted, …) or by
  marker shape and dash, a text legend names them, and bars carry their value as text;
* deterministic: the same input gives the same bytes (ids derive from ``chart_id``);
* safe: every label and value is escaped, so a dataset named ``<script>`` stays text.

Empty input (no categories, or nothing but zeros) gives a small "no data yet" picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 40, 52
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM

# Okabe–Ito: distinguishable with the common colour-vision deficiencies. Colour is a second
# cue only; the pattern or marker is the first.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
# Overlays drawn on the colour, one per style: (kind, path) in a 6×6 tile.
_PATTERNS = (
    ("solid", ""),
    ("hatch", "M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2"),
    ("dots", ""),
    ("cross", "M0,0 L6,6 M6,0 L0,6"),
    ("hlines", "M0,1.5 H6 M0,4.5 H6"),
    ("vlines", "M1.5,0 V6 M4.5,0 V6"),
    ("backhatch", "M-1,5 l2,2 M0,0 l6,6 M5,-1 l2,2"),
)
_MARKERS = ("circle", "square", "triangle", "diamond")
_DASHES = ("", "6 3", "2 3", "8 3 2 3")

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """A named row of values; ``None`` is a gap (no value), not zero. ``style`` picks the
    pattern / marker (default: the series' position), so a status keeps its look across days
    on which other statuses are missing."""

    name: str
    values: Sequence[float | None]
    style: int | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str | None = None  # the text shown on the bar; default: the formatted value
    style: int = 0
    note: str = ""  # added to the bar's tooltip


# --- formatting -----------------------------------------------------------------------------


def format_count(value: float) -> str:
    return f"{round(value):,}"


def format_ratio(value: float) -> str:
    return f"{value:.2f}"


def format_decimal(value: float) -> str:
    """Axis ticks of amounts in whole tokens: grouped thousands, at most 6 decimals, no
    trailing zeros, never an exponent (``1,500``, ``0.25``)."""
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_compact(value: float) -> str:
    """Large integers (token amounts in the smallest unit) in a short, exact-enough form."""
    number = int(value)
    if abs(number) < 1_000_000:
        return f"{number:,}"
    exponent = math.floor(math.log10(abs(number)))
    return f"{number / 10**exponent:.2f}e{exponent}"


def _num(value: float) -> str:
    """Coordinates: one decimal, no trailing zeros, never ``-0``."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


# --- scales ---------------------------------------------------------------------------------


def _nice_step(span: float, divisions: int = 4) -> float:
    raw = span / divisions
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * 10.0**exponent
        if step >= raw:
            return step
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def _ticks(low: float, high: float, *, integer: bool) -> list[float]:
    """Tick values covering [low, high], on a 1-2-2.5-5 grid (whole numbers for counts)."""
    step = _nice_step(high - low)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


class _Scale:
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high if high > low else low + 1

    def y(self, value: float) -> float:
        return TOP + PLOT_H - (value - self.low) / (self.high - self.low) * PLOT_H


# --- building blocks ------------------------------------------------------------------------


def _open(chart_id: str, title: str, description: str, height: int = HEIGHT) -> list[str]:
    cid = _attr(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dd-chart" id="{cid}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-label="{_attr(title)}" aria-describedby="{cid}-desc" '
        f'font-family="system-ui, -apple-system, sans-serif" font-size="11" '
        f'style="max-width:{WIDTH}px;color:inherit">',
        f"<title>{escape(title)}</title>",
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _defs(chart_id: str, styles: Sequence[int]) -> str:
    parts = ["<defs>"]
    for style in sorted(set(styles)):
        colour = PALETTE[style % len(PALETTE)]
        kind, path = _PATTERNS[style % len(_PATTERNS)]
        parts.append(
            f'<pattern id="{_attr(chart_id)}-p{style}" patternUnits="userSpaceOnUse" '
            f'width="6" height="6"><rect width="6" height="6" fill="{colour}"/>'
        )
        if kind == "dots":
            parts.append('<circle cx="3" cy="3" r="1.4" fill="#fff"/>')
        elif path:
            parts.append(f'<path d="{path}" stroke="#fff" stroke-width="1.4"/>')
        parts.append("</pattern>")
    parts.append("</defs>")
    return "".join(parts)


def _fill(chart_id: str, style: int) -> str:
    return f"url(#{_attr(chart_id)}-p{style})"


def _y_axis(scale: _Scale, ticks: Sequence[float], fmt: Formatter, y_label: str) -> list[str]:
    out = ['<g class="y-axis">']
    for tick in ticks:
        y = _num(scale.y(tick))
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y}" y2="{y}" '
            f'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="currentColor">{escape(fmt(tick))}</text>'
        )
    mid = _num(TOP + PLOT_H / 2)
    out.append(
        f'<text x="14" y="{mid}" text-anchor="middle" fill="currentColor" '
        f'transform="rotate(-90 14 {mid})">{escape(y_label)}</text>'
    )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_H}" stroke="currentColor"/>'
        f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H}" '
        f'stroke="currentColor"/></g>'
    )
    return out


def _x_label(x_label: str) -> str:
    return (
        f'<text class="x-label" x="{_num(LEFT + PLOT_W / 2)}" y="{HEIGHT - 8}" '
        f'text-anchor="middle" fill="currentColor">{escape(x_label)}</text>'
    )


def _x_tick(x: float, text: str) -> str:
    return (
        f'<text class="x-tick" x="{_num(x)}" y="{TOP + PLOT_H + 16}" text-anchor="middle" '
        f'fill="currentColor">{escape(text)}</text>'
    )


def _legend_swatches(chart_id: str, entries: Sequence[tuple[int, str]]) -> list[str]:
    out = ['<g class="legend">']
    x = LEFT
    for style, name in entries:
        out.append(
            f'<rect x="{x}" y="12" width="14" height="14" fill="{_fill(chart_id, style)}" '
            f'stroke="currentColor" stroke-width="0.5"/>'
            f'<text x="{x + 19}" y="23" fill="currentColor">{escape(name)}</text>'
        )
        x += 19 + 7 * len(name) + 18
    out.append("</g>")
    return out


def _every(count: int, most: int = 10) -> int:
    return max(1, math.ceil(count / most))


def empty_chart(*, chart_id: str, title: str, message: str = "No data yet") -> str:
    """A small placeholder that says there is nothing to plot (rather than an empty axis)."""
    out = _open(chart_id, title, message, height=80)
    out.append(
        f'<rect x="1" y="1" width="{WIDTH - 2}" height="78" rx="6" fill="none" '
        f'stroke="currentColor" stroke-opacity="0.3" stroke-dasharray="4 4"/>'
        f'<text class="empty" x="{WIDTH // 2}" y="44" text-anchor="middle" '
        f'fill="currentColor">{escape(message)}</text></svg>'
    )
    return "".join(out)


# --- charts ---------------------------------------------------------------------------------


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    unit: str = "",
    empty_message: str = "No data yet",
) -> str:
    """One bar per category, stacked by series (e.g. contributions per day by status), with
    each bar's total written above it."""
    styles = [s.style if s.style is not None else i for i, s in enumerate(series)]
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    if not categories or not any(totals):
        return empty_chart(chart_id=chart_id, title=title, message=empty_message)
    grand = sum(totals)
    per_series = [(s.name, sum(v or 0 for v in s.values)) for s in series]
    parts = ", ".join(f"{format_count(n)} {name}" for name, n in per_series if n)
    description = (
        f"{len(categories)} {x_label.lower()}s from {categories[0]} to {categories[-1]}; "
        f"{format_count(grand)} {unit or 'in total'}: {parts}."
    )
    ticks = _ticks(0, max(totals), integer=True)
    scale = _Scale(0, ticks[-1])
    band = PLOT_W / len(categories)
    width = max(1.0, band * 0.72)
    out = _open(chart_id, title, description)
    out.append(_defs(chart_id, styles))
    out += _legend_swatches(chart_id, [(st, s.name) for st, s in zip(styles, series, strict=True)])
    out += _y_axis(scale, ticks, format_count, y_label)
    out.append('<g class="bars">')
    label_every = _every(len(categories))
    for i, category in enumerate(categories):
        x = LEFT + band * i + (band - width) / 2
        base = 0.0
        out.append(f'<g class="bar" data-category="{_attr(category)}" data-total="{totals[i]:g}">')
        for style, s in zip(styles, series, strict=True):
            value = s.values[i] or 0
            if not value:
                continue
            y_top, y_bottom = scale.y(base + value), scale.y(base)
            out.append(
                f'<rect x="{_num(x)}" y="{_num(y_top)}" width="{_num(width)}" '
                f'height="{_num(y_bottom - y_top)}" fill="{_fill(chart_id, style)}" '
                f'data-series="{_attr(s.name)}" data-value="{value:g}">'
                f"<title>{escape(category)}: {format_count(value)} {escape(s.name)}</title></rect>"
            )
            base += value
        if totals[i] and band >= 14:
            out.append(
                f'<text class="total" x="{_num(x + width / 2)}" y="{_num(scale.y(base) - 3)}" '
                f'text-anchor="middle" font-size="9" fill="currentColor">'
                f"{format_count(totals[i])}</text>"
            )
        out.append("</g>")
        if i % label_every == 0:
            out.append(_x_tick(x + width / 2, category))
    out.append("</g>")
    out.append(_x_label(x_label))
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    x_label: str,
    y_label: str,
    value_format: Formatter = format_count,
    legend: Sequence[tuple[int, str]] = (),
    gap: float = 0.28,
    edges: Sequence[str] | None = None,
    empty_message: str = "No data yet",
) -> str:
    """Simple bars with their value written on top. With ``edges`` (one more than bars) and
    ``gap=0`` it is a histogram: the labels sit on the bin boundaries."""
    if not bars or not any(b.value for b in bars):
        return empty_chart(chart_id=chart_id, title=title, message=empty_message)
    total = sum(b.value for b in bars)
    top = max(bars, key=lambda b: b.value)
    description = (
        f"{len(bars)} bars ({bars[0].label} to {bars[-1].label}); "
        f"total {value_format(total)}; "
        f"highest {top.label}: {top.display or value_format(top.value)}."
    )
    integer = value_format is format_count
    ticks = _ticks(0, top.value, integer=integer)
    scale = _Scale(0, ticks[-1])
    band = PLOT_W / len(bars)
    width = max(1.0, band * (1 - gap))
    out = _open(chart_id, title, description)
    out.append(_defs(chart_id, [b.style for b in bars]))
    if legend:
        out += _legend_swatches(chart_id, legend)
    out += _y_axis(scale, ticks, value_format, y_label)
    out.append('<g class="bars">')
    label_every = _every(len(bars))
    for i, bar in enumerate(bars):
        x = LEFT + band * i + (band - width) / 2
        y = scale.y(bar.value)
        shown = bar.display or value_format(bar.value)
        note = f" ({bar.note})" if bar.note else ""
        out.append(
            f'<g class="bar" data-label="{_attr(bar.label)}" data-value="{bar.value:g}">'
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" '
            f'height="{_num(TOP + PLOT_H - y)}" fill="{_fill(chart_id, bar.style)}" '
            f'stroke="currentColor" stroke-width="0.4">'
            f"<title>{escape(bar.label)}: {escape(shown)}{escape(note)}</title></rect>"
        )
        if bar.value and band >= 14:
            out.append(
                f'<text class="value" x="{_num(x + width / 2)}" y="{_num(y - 3)}" '
                f'text-anchor="middle" font-size="9" fill="currentColor">{escape(shown)}</text>'
            )
        out.append("</g>")
        if edges is None and i % label_every == 0:
            out.append(_x_tick(x + width / 2, bar.label))
    if edges is not None:
        edge_every = _every(len(edges), 12)
        for i, edge in enumerate(edges):
            if i % edge_every == 0 or i == len(edges) - 1:
                out.append(_x_tick(LEFT + band * i, edge))
    out.append("</g>")
    out.append(_x_label(x_label))
    out.append("</svg>")
    return "".join(out)


def histogram(
    *,
    chart_id: str,
    title: str,
    edges: Sequence[float],
    counts: Sequence[int],
    x_label: str,
    y_label: str = "count",
    edge_format: Formatter = format_count,
    empty_message: str = "No data yet",
) -> str:
    """Counts per bin ``[edges[i], edges[i+1])``; bins touch, boundaries are labelled."""
    if len(edges) != len(counts) + 1:
        raise ValueError("A histogram needs one more edge than counts.")
    bars = [
        Bar(label=f"{edge_format(lo)}–{edge_format(hi)}", value=n)
        for lo, hi, n in zip(edges, edges[1:], counts, strict=False)
    ]
    return bar_chart(
        chart_id=chart_id,
        title=title,
        bars=bars,
        x_label=x_label,
        y_label=y_label,
        gap=0.04,
        edges=[edge_format(e) for e in edges],
        empty_message=empty_message,
    )


def _marker(shape: str, x: float, y: float, style: int, *, extra: str = "", inner: str = "") -> str:
    colour = PALETTE[style % len(PALETTE)]
    cx, cy = _num(x), _num(y)
    if shape == "square":
        tag, attrs = "rect", f'x="{_num(x - 3.5)}" y="{_num(y - 3.5)}" width="7" height="7"'
    elif shape == "triangle":
        tag = "polygon"
        attrs = (
            f'points="{cx},{_num(y - 4.5)} {_num(x + 4.5)},{_num(y + 3.5)} '
            f'{_num(x - 4.5)},{_num(y + 3.5)}"'
        )
    elif shape == "diamond":
        tag = "polygon"
        attrs = (
            f'points="{cx},{_num(y - 5)} {_num(x + 5)},{cy} {cx},{_num(y + 5)} {_num(x - 5)},{cy}"'
        )
    else:
        tag, attrs = "circle", f'cx="{cx}" cy="{cy}" r="4"'
    opening = f'<{tag} {attrs} fill="{colour}"{extra}'
    return f"{opening}>{inner}</{tag}>" if inner else f"{opening}/>"


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_min: float | None = None,
    y_max: float | None = None,
    value_format: Formatter = format_ratio,
    empty_message: str = "No data yet",
) -> str:
    """Series over shared x positions (e.g. consensus runs in time order). Series differ by
    marker shape and dash as well as colour; ``None`` values leave a gap in the line."""
    present = [v for s in series for v in s.values if v is not None]
    if not x_labels or not present:
        return empty_chart(chart_id=chart_id, title=title, message=empty_message)
    low = min(present) if y_min is None else min(y_min, min(present))
    high = max(present) if y_max is None else max(y_max, max(present))
    ticks = _ticks(low, high, integer=False)
    scale = _Scale(ticks[0], ticks[-1])
    step = PLOT_W / len(x_labels)

    def x_of(i: int) -> float:
        return LEFT + step * (i + 0.5)

    out = _open(chart_id, title, _line_description(x_labels, series, value_format))
    out += _line_legend(series)
    out += _y_axis(scale, ticks, value_format, y_label)
    for i, s in enumerate(series):
        out += _line_series(s, i, x_labels, x_of, scale, value_format)
    label_every = _every(len(x_labels), 8)
    for i, text in enumerate(x_labels):
        if i % label_every == 0:
            out.append(_x_tick(x_of(i), text))
    out.append(_x_label(x_label))
    out.append("</svg>")
    return "".join(out)


def _line_description(
    x_labels: Sequence[str], series: Sequence[Series], value_format: Formatter
) -> str:
    """What a screen reader hears: the range and each series' latest value."""
    latest = []
    for s in series:
        known = [v for v in s.values if v is not None]
        if known:
            latest.append(f"{s.name} latest {value_format(known[-1])}")
    return (
        f"{len(x_labels)} points from {x_labels[0]} to {x_labels[-1]}; " + "; ".join(latest) + "."
    )


def _line_style(s: Series, index: int) -> tuple[int, str, str]:
    """A series' style number, colour and dash attribute (its own style, else its place)."""
    style = s.style if s.style is not None else index
    dash = _DASHES[style % len(_DASHES)]
    return style, PALETTE[style % len(PALETTE)], f' stroke-dasharray="{dash}"' if dash else ""


def _line_legend(series: Sequence[Series]) -> list[str]:
    out = ['<g class="legend">']
    lx = LEFT
    for i, s in enumerate(series):
        style, colour, dash_attr = _line_style(s, i)
        out.append(
            f'<line x1="{lx}" x2="{lx + 24}" y1="19" y2="19" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
            + _marker(_MARKERS[style % len(_MARKERS)], lx + 12, 19, style)
            + f'<text x="{lx + 30}" y="23" fill="currentColor">{escape(s.name)}</text>'
        )
        lx += 30 + 7 * len(s.name) + 20
    out.append("</g>")
    return out


def _line_series(
    s: Series,
    index: int,
    x_labels: Sequence[str],
    x_of: Callable[[int], float],
    scale: _Scale,
    value_format: Formatter,
) -> list[str]:
    """One series: its line, broken into segments at each None, and a marker per value."""
    style, colour, dash_attr = _line_style(s, index)
    values = s.values[: len(x_labels)]
    out = [f'<g class="series" data-series="{_attr(s.name)}">']
    segments: list[list[str]] = [[]]
    for j, value in enumerate(values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append(f"{_num(x_of(j))},{_num(scale.y(value))}")
    for points in segments:
        if len(points) > 1:
            out.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash_attr}/>'
            )
    for j, value in enumerate(values):
        if value is None:
            continue
        out.append(
            _marker(
                _MARKERS[style % len(_MARKERS)],
                x_of(j),
                scale.y(value),
                style,
                extra=f' data-value="{value:g}"',
                inner=f"<title>{escape(x_labels[j])}: {escape(s.name)} "
                f"{escape(value_format(value))}</title>",
            )
        )
    out.append("</g>")
    return out
