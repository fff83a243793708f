"""One cell against one column of a tabular schema (``datadao.schema`` ``columns`` entries).

Pure: no Django imports. ``compile_columns`` parses the schema once (regexes compiled, bounds
parsed); ``check_csv_cell`` and ``check_json_cell`` then turn one raw cell into its canonical
value or one reason it is refused. Canonical values are JSON-native so they can be hashed:

* int → ``int``; float → finite ``float`` (``1`` becomes ``1.0``); bool → ``bool``;
* string/category → ``str``, surrounding whitespace stripped and Unicode NFC-normalized
  (checks see this form too, so "café" matches whichever way it was composed);
* datetime → ISO 8601 text in UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (naive means UTC).

CSV cells are text: surrounding whitespace is stripped and an empty cell is a missing value.
JSON Lines cells must have the JSON type of their column (``"3"`` is not an int); ``null`` and
absent keys are missing values.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from datadao.pattern import compile_pattern

from .jsontext import json_type_name

# A regex runs only on cells at most this long (max_length, if smaller, refuses first). RE2's
# time is linear in the cell's length times the pattern's program size (itself capped by
# datadao.pattern.MAX_PROGRAM_MEMORY), so this bounds the cost of any one cell.
REGEX_MAX_CHARS = 10_000
# Longer "numbers" are refused before int()/float() see them (CPython caps int digits anyway).
MAX_NUMBER_CHARS = 400
# How many allowed values a "not one of" message lists.
ALLOWED_PREVIEW = 5

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class ColumnRule:
    """A schema column, parsed once. ``low``/``high`` are comparable with canonical values."""

    name: str
    type: str
    required: bool
    low: Any = None
    high: Any = None
    allowed: frozenset[Any] | None = None
    allowed_preview: str = ""
    regex: Any = None  # compiled by datadao.pattern (RE2)
    pattern: str = ""
    max_length: int | None = None


@dataclass(frozen=True)
class CellProblem:
    """Why a cell is refused. ``out_of_range`` marks min/max violations (they are counted)."""

    reason: str
    out_of_range: bool = False


def compile_columns(columns: list[dict[str, Any]]) -> dict[str, ColumnRule]:
    """Parse schema ``columns`` (already valid per ``datadao.schema``) into rules by name."""
    return {column["name"]: _compile(column) for column in columns}


def _compile(column: dict[str, Any]) -> ColumnRule:
    kind = column["type"]
    low, high = column.get("min"), column.get("max")
    if kind == "datetime":
        low = _parse_datetime(low) if low is not None else None
        high = _parse_datetime(high) if high is not None else None
    allowed = column.get("allowed")
    preview = ""
    if allowed is not None:
        shown = ", ".join(map(str, allowed[:ALLOWED_PREVIEW]))
        preview = shown + (", …" if len(allowed) > ALLOWED_PREVIEW else "")
        if kind != "int":
            allowed = [_canonical_text(value) for value in allowed]
    regex = column.get("regex")
    return ColumnRule(
        name=column["name"],
        type=kind,
        required=bool(column.get("required", False)),
        low=low,
        high=high,
        allowed=frozenset(allowed) if allowed is not None else None,
        allowed_preview=preview,
        regex=compile_pattern(regex) if regex else None,
        pattern=regex or "",
        max_length=column.get("max_length"),
    )


def check_csv_cell(rule: ColumnRule, raw: str) -> tuple[Any, CellProblem | None]:
    """Canonical value of non-empty CSV text ``raw`` for ``rule``, or the reason it is refused."""
    text = raw.strip()
    kind = rule.type
    if kind == "int":
        if len(text) > MAX_NUMBER_CHARS or not _INT.fullmatch(text):
            return None, CellProblem("not a whole number")
        return _check_value(rule, int(text))
    if kind == "float":
        if len(text) > MAX_NUMBER_CHARS or not _FLOAT.fullmatch(text):
            return None, CellProblem("not a number")
        # + 0.0 turns -0.0 into 0.0: the same datum must have one canonical form.
        value = float(text) + 0.0
        if not math.isfinite(value):
            return None, CellProblem("not a finite number")
        return _check_value(rule, value)
    if kind == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True, None
        if lowered in _FALSE:
            return False, None
        return None, CellProblem("not a boolean (use true/false, yes/no or 1/0)")
    return _check_value(rule, text)


def check_json_cell(rule: ColumnRule, raw: Any) -> tuple[Any, CellProblem | None]:
    """Canonical value of non-null JSON ``raw`` for ``rule``, or the reason it is refused."""
    kind = rule.type
    got = json_type_name(raw)
    if kind == "int":
        if isinstance(raw, float) and not isinstance(raw, bool):
            return None, CellProblem("not a whole number")
        if not isinstance(raw, int) or isinstance(raw, bool):
            return None, CellProblem(f"expected a whole number, got {got}")
        return _check_value(rule, raw)
    if kind == "float":
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            return None, CellProblem(f"expected a number, got {got}")
        try:
            value = float(raw) + 0.0
        except OverflowError:  # an integer with hundreds of digits
            value = math.inf
        if not math.isfinite(value):
            return None, CellProblem("not a finite number")
        return _check_value(rule, value)
    if kind == "bool":
        if not isinstance(raw, bool):
            return None, CellProblem(f"expected true or false, got {got}")
        return raw, None
    if not isinstance(raw, str):
        return None, CellProblem(f"expected a string, got {got}")
    return _check_value(rule, raw)


def _check_value(rule: ColumnRule, value: Any) -> tuple[Any, CellProblem | None]:
    if rule.type == "datetime":
        parsed = _parse_datetime(value.strip()) if len(value) <= MAX_NUMBER_CHARS else None
        if parsed is None:
            return None, CellProblem("not an ISO 8601 date-time")
        problem = _check_range(rule, parsed)
        return (None, problem) if problem else (_format_datetime(parsed), None)
    if rule.type in ("int", "float"):
        problem = _check_range(rule, value) or _check_allowed(rule, value)
        return (None, problem) if problem else (value, None)
    text = _canonical_text(value)
    problem = _check_allowed(rule, text) or _check_text(rule, text)
    return (None, problem) if problem else (text, None)


def _check_range(rule: ColumnRule, value: Any) -> CellProblem | None:
    if rule.low is not None and value < rule.low:
        return CellProblem(f"below the minimum {_show_bound(rule.low)}", out_of_range=True)
    if rule.high is not None and value > rule.high:
        return CellProblem(f"above the maximum {_show_bound(rule.high)}", out_of_range=True)
    return None


def _check_allowed(rule: ColumnRule, value: Any) -> CellProblem | None:
    if rule.allowed is not None and value not in rule.allowed:
        return CellProblem(f"not one of the allowed values ({rule.allowed_preview})")
    return None


def _check_text(rule: ColumnRule, text: str) -> CellProblem | None:
    if rule.max_length is not None and len(text) > rule.max_length:
        return CellProblem(f"longer than {rule.max_length} characters ({len(text)})")
    if rule.regex is not None:
        if len(text) > REGEX_MAX_CHARS:
            return CellProblem(
                f"too long to check against the pattern (over {REGEX_MAX_CHARS} characters)"
            )
        if not rule.regex.fullmatch(text):
            return CellProblem(f"does not match the pattern {rule.pattern!r}")
    return None


def _canonical_text(value: str) -> str:
    text = value.strip()
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _parse_datetime(value: str) -> datetime | None:
    """ISO 8601 text as a naive UTC datetime (naive input means UTC, as in datadao.schema)."""
    try:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        # OverflowError: an offset that moves year 1 or 9999 out of range.
        return None


def _format_datetime(value: datetime) -> str:
    return value.isoformat() + "Z"


def _show_bound(bound: Any) -> str:
    return _format_datetime(bound) if isinstance(bound, datetime) else repr(bound)
