"""Sealed short secrets (``datadao.sealing.text``): they open only under their binding and a
ring holding their KEK, an altered one does not open, and rotation rewraps the data key only."""

from __future__ import annotations

import pytest

from datadao.sealing import SealError, parse_ring
from datadao.sealing.text import open_text, seal_text

OLD = parse_ring("old:" + "11" * 32)
ROTATED = parse_ring("new:" + "22" * 32 + ",old:" + "11" * 32)


def test_a_sealed_text_opens_under_its_binding_only() -> None:
    sealed = seal_text("s3cret-token", OLD, binding="dao1/prediction-endpoint/7")
    assert "s3cret-token" not in sealed
    assert open_text(sealed, OLD, binding="dao1/prediction-endpoint/7") == ("s3cret-token", None)
    # Another dataset's or DAO's record, another ring, an altered byte: no.
    for ring, binding in ((OLD, "dao1/prediction-endpoint/8"), (OLD, "dao2/prediction-endpoint/7")):
        with pytest.raises(SealError):
            open_text(sealed, ring, binding=binding)
    with pytest.raises(SealError):
        open_text(sealed, parse_ring("other:" + "33" * 32), binding="dao1/prediction-endpoint/7")
    head, tail = sealed.rsplit("~", 1)
    flipped = tail[:-2] + ("A" if tail[-2] != "A" else "B") + tail[-1]
    with pytest.raises(SealError):
        open_text(f"{head}~{flipped}", OLD, binding="dao1/prediction-endpoint/7")
    with pytest.raises(SealError):
        open_text("not sealed", OLD, binding="dao1/prediction-endpoint/7")
    # Two seals of the same text differ (fresh data key and nonce).
    twice = {seal_text("s3cret-token", OLD, binding="b") for _ in range(2)}
    assert len(twice) == 2


def test_rotation_rewraps_the_data_key_and_keeps_the_text() -> None:
    sealed = seal_text("tok", OLD, binding="b")
    text, moved = open_text(sealed, ROTATED, binding="b")
    assert text == "tok" and moved is not None and moved.startswith("v1.new.")
    assert moved.rsplit("~", 1)[1] == sealed.rsplit("~", 1)[1]  # the text itself untouched
    assert open_text(moved, ROTATED, binding="b") == ("tok", None)
