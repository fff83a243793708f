"""Which key picks which label (labeling/keys.py; label.js applies the same rule)."""

from __future__ import annotations

import pytest

from labeling.keys import keys_hint, label_keys


@pytest.mark.parametrize(
    ("labels", "keys", "hint"),
    [
        # Single characters of their own: the key is the label, whatever its position.
        (list("0123456789"), list("0123456789"), "0–9"),
        (["3", "1", "2"], ["3", "1", "2"], "1–3"),
        (list("ABCDE"), list("ABCDE"), "A–E"),
        (["x"], ["x"], "x"),
        # Otherwise numbered in keyboard order, the tenth on 0, none past it.
        (["cat", "dog", "bird"], ["1", "2", "3"], "1–3"),
        ([f"c{i}" for i in range(11)], [*"1234567890", ""], "1–9, 0"),
        (["10", "2", "30"], ["1", "2", "3"], "1–3"),
        # A page shortcut (S, U, ?) is never a label's key: the set is numbered instead.
        (["s", "m", "l"], ["1", "2", "3"], "1–3"),
        (["?", "y"], ["1", "2"], "1–2"),
        (["+", "-", "0"], ["1", "2", "3"], "1–3"),  # + and - zoom the image
        # Duplicates and blanks cannot be keys.
        (["a", "a"], ["1", "2"], "1–2"),
        ([" ", "b"], ["1", "2"], "1–2"),
    ],
)
def test_label_keys(labels: list[str], keys: list[str], hint: str) -> None:
    assert label_keys(labels) == keys
    assert keys_hint(keys) == hint
