"""How the input spells each bool column, so written rows spell it the same way. Pure.

The upload validator reads "true"/"false", "yes"/"no" and "1"/"0" (any case) as booleans and
keeps the canonical ``True``/``False``; the rows a job returns are canonical too, so a CSV
written from them would say "true"/"false" where the input said "yes"/"no", "Yes"/"No" or
"1"/"0". ``bool_spellings`` records, per bool column, the input's commonest spelling of each
value, and ``cell_text`` writes a value with it. (A "Y"/"N" column is not a bool to the
validator: it is a category, and keeps its values as they are.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from contributions.export import cell_text as canonical_text

# The other value's spelling in the same family, for a column where only one value occurs.
_PAIRS = {"true": "false", "yes": "no", "1": "0"}
_PAIRS.update({v: k for k, v in _PAIRS.items()})
_TRUE = frozenset({"true", "yes", "1"})

Spellings = dict[str, dict[str, str]]


def bool_spellings(rows: Sequence[dict[str, str | None]], schema: dict[str, Any]) -> Spellings:
    """Per bool column not spelled "true"/"false": ``{"true": text, "false": text}``, each the
    commonest spelling of that value in ``rows`` (ties: the first seen)."""
    out: Spellings = {}
    for column in schema["columns"]:
        if column["type"] != "bool":
            continue
        seen: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
        for row in rows:
            text = (row.get(column["name"]) or "").strip()
            if text.lower() in _PAIRS:
                seen[text.lower() in _TRUE][text] += 1
        chosen = {v: c.most_common(1)[0][0] for v, c in seen.items() if c}
        if not chosen:
            continue
        for value in (True, False):
            if value not in chosen:
                other = chosen[not value]
                chosen[value] = _same_case(_PAIRS[other.lower()], other)
        spelled = {"true": chosen[True], "false": chosen[False]}
        if spelled != {"true": "true", "false": "false"}:
            out[column["name"]] = spelled
    return out


def _same_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word.capitalize()
    return word


def cell_text(value: Any, column: str, spellings: Spellings | None) -> str:
    """A canonical value as CSV text, a bool in its column's input spelling."""
    if isinstance(value, bool) and spellings and column in spellings:
        return spellings[column]["true" if value else "false"]
    return canonical_text(value)
