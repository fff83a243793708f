"""Cheap guards around ``json.loads`` for untrusted text.

Pure: no Django imports. ``json.loads`` recurses once per nesting level, so a line of 10 000
``[`` ends in ``RecursionError`` deep inside the parser. ``nesting_exceeds`` decides on the raw
text, without recursion and in linear time, whether nesting goes deeper than a limit, so such
input is refused before the parser sees it.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32

# A JSON string, matched possessively so that an unterminated one cannot cause backtracking.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Return True when the arrays/objects in JSON ``text`` nest deeper than ``limit`` levels.

    The outermost object counts as level 1. Brackets inside strings are ignored. Works on any
    text (valid JSON or not) in time linear in its length and without recursion.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for char in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class JsonRefused(ValueError):
    """The text is not acceptable JSON; the message says why (parser position included)."""


def loads_guarded(text: str, limit: int = MAX_JSON_DEPTH) -> Any:
    """Parse one JSON value from ``text``, or raise ``JsonRefused`` with a readable reason.

    Guarantees: never raises ``RecursionError``; nesting deeper than ``limit`` is refused;
    ``NaN``/``Infinity`` literals parse (to non-finite floats) so callers can name the problem.
    """
    if nesting_exceeds(text, limit):
        raise JsonRefused(f"nested deeper than {limit} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        # ValueError: integers beyond Python's digit limit; RecursionError as a last resort.
        raise JsonRefused(f"not valid JSON: {exc}") from None


def json_type_name(value: Any) -> str:
    """Name a parsed JSON value's type as the contributor would: 'a string', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
