"""Which key picks which label on the labeling page (pure; ``static/labeling/label.js`` applies
the same rule to label sets the API sends).

When every label is one character of its own (the digits "0".."9", letters "A".."E"), the key
*is* the label: a labeler who types the digit they see gets that digit, never the label that
happens to sit at that position. Otherwise the buttons are numbered in keyboard order, 1–9
then 0, and the number is shown on each button. The page's own shortcuts (Enter, S, U, ?, and
+ / - for zoom) are never given to a label; a set that would need one is numbered instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

# Keyboard order: the tenth label is on 0, as on a keyboard's number row.
NUMBER_KEYS = "1234567890"
# The page's own shortcuts, in both cases (a label key is matched exactly, case and all).
RESERVED = frozenset("sSuU?+=-_")


def label_keys(labels: Sequence[str]) -> list[str]:
    """The key of each label, in order; "" for a label without one (past the tenth)."""
    own = [str(label) for label in labels]
    if (
        own
        and all(len(k) == 1 and k.isprintable() and not k.isspace() for k in own)
        and len(set(own)) == len(own)
        and not RESERVED & set(own)
    ):
        return own
    return [NUMBER_KEYS[i : i + 1] for i in range(len(own))]


def keys_hint(keys: Sequence[str]) -> str:
    """The keys in a few characters, for the shortcut list: "1–3", "1–9, 0", "0–9", "A–E"."""
    keys = [k for k in keys if k]
    if not keys:
        return ""
    if list(keys) == list(NUMBER_KEYS[: len(keys)]):
        return "1–9, 0" if len(keys) == 10 else (keys[0] if len(keys) == 1 else f"1–{keys[-1]}")
    ordered = sorted(keys)
    if len(ordered) > 2 and all(ord(b) - ord(a) == 1 for a, b in itertools.pairwise(ordered)):
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(keys)
