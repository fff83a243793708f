"""Clawbacks netted from allocations (pure): never below zero, carried in order, replayable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards import epoch_inputs
from rewards.netting import apply, net

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20


def test_dues_are_taken_in_order_and_the_rest_is_carried() -> None:
    left, applied = net({A: 300, B: 50}, [("c:1", A, 200), ("c:2", A, 500), ("c:3", B, 10)])
    assert left == {A: 0, B: 40}
    assert applied == [("c:1", A, 200), ("c:2", A, 100), ("c:3", B, 10)]
    assert apply({A: 300, B: 50}, applied) == left


def test_a_forged_deduction_is_refused_on_replay() -> None:
    with pytest.raises(ValueError, match="allocated 100"):
        apply({A: 100}, [("c:1", A, 101)])
    with pytest.raises(ValueError, match="must be positive"):
        apply({A: 100}, [("c:1", A, -5)])


@given(
    st.dictionaries(st.sampled_from([A, B]), st.integers(0, 10**30)),
    st.lists(st.tuples(st.sampled_from([A, B]), st.integers(0, 10**30)), max_size=6),
)
def test_netting_never_goes_below_zero_and_replays(allocations, dues) -> None:  # type: ignore[no-untyped-def]
    listed = [(f"c:{i}", a, d) for i, (a, d) in enumerate(dues)]
    left, applied = net(allocations, listed)
    assert all(v >= 0 for v in left.values())
    assert sum(allocations.values()) - sum(left.values()) == sum(a for _, _, a in applied)
    assert apply(allocations, applied) == left


def test_an_epoch_with_clawbacks_is_format_2_and_settles_to_the_netted_root() -> None:
    document = epoch_inputs.inputs_document(
        dao_id="0x" + "11" * 32,
        chain_id=1,
        epoch=2,
        verifying_contract="0x" + "00" * 20,
        budget=None,
        credits=[
            (A, 300, "contribution", "contributions.contribution:1"),
            (B, 200, "contribution", "contributions.contribution:2"),
        ],
        clawbacks=[("rewards.clawback:7", A, 300)],
    )
    assert document["datadao_epoch_inputs"] == 2
    settled = epoch_inputs.settle(document)
    assert settled.values == [(B, 200)] and settled.total == 200
    plain = epoch_inputs.inputs_document(
        dao_id="0x" + "11" * 32,
        chain_id=1,
        epoch=2,
        verifying_contract="0x" + "00" * 20,
        budget=None,
        credits=[(A, 1, "label", "labeling.label:1")],
    )
    assert plain["datadao_epoch_inputs"] == 1 and "clawbacks" not in plain
