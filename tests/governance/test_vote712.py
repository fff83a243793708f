"""governance.vote712, pure: the proposal hash, the Vote typed data, the tally rule."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from governance import vote712


def test_the_hash_is_over_canonical_json_whatever_the_key_order() -> None:
    assert vote712.proposal_hash({"b": 1, "a": "é"}) == vote712.proposal_hash({"a": "é", "b": 1})
    assert vote712.canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert vote712.proposal_hash({"a": 1}) != vote712.proposal_hash({"a": 2})


def test_the_vote_type_is_snapshots() -> None:
    names = [(f["name"], f["type"]) for f in vote712.TYPES["Vote"]]
    assert names == [
        ("from", "address"),
        ("space", "string"),
        ("timestamp", "uint64"),
        ("proposal", "bytes32"),
        ("choice", "uint32"),
        ("reason", "string"),
        ("app", "string"),
        ("metadata", "string"),
    ]


def test_a_signed_ballot_recovers_to_its_signer() -> None:
    key = Account.create()
    ballot = vote712.Ballot(key.address, "0x" + "11" * 32, 1, "0x" + "22" * 32, 1, "", "x", "")
    typed = vote712.typed_data(ballot, chain_id=5)
    signature = Account.sign_message(encode_typed_data(full_message=typed), key.key).signature
    assert vote712.recover(ballot, bytes(signature), chain_id=5) == key.address
    assert vote712.recover(ballot, bytes(signature), chain_id=6) != key.address


@pytest.mark.parametrize(
    ("votes", "quorum", "result", "reached"),
    [
        ([(1, 2), (2, 1)], 3, "passed", True),
        ([(1, 2), (2, 1)], 4, "rejected", False),
        ([(1, 1), (2, 1), (3, 5)], 7, "rejected", True),  # a tie
        ([(3, 5)], 5, "rejected", True),  # only abstentions
        ([], 1, "rejected", False),
        ([(1, 10**30)], 10**30, "passed", True),
    ],
)
def test_the_tally_rule(
    votes: list[tuple[int, int]], quorum: int, result: str, reached: bool
) -> None:
    tally = vote712.tally(votes, quorum=quorum)
    assert (tally["result"], tally["quorum_reached"]) == (result, reached)
    assert int(tally["cast"]) == sum(power for _, power in votes)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"choice": 0}, "bad_choice", "message.choice"),
        ({"choice": True}, "bad_choice", "message.choice"),
        ({"timestamp": -1}, "bad_vote", "message.timestamp"),
        ({"from": "alice"}, "bad_vote", "message.from"),
        ({"proposal": "0x12"}, "bad_vote", "message.proposal"),
        ({"extra": 1}, "bad_vote", "unknown fields: extra"),
        ({"reason": "x" * 2001}, "bad_vote", "message.reason"),
    ],
)
def test_a_malformed_ballot_names_its_field(change: dict, code: str, words: str) -> None:
    message = {
        "from": Account.create().address,
        "space": "0x" + "11" * 32,
        "timestamp": 1,
        "proposal": "0x" + "22" * 32,
        "choice": 1,
        "reason": "",
        "app": "datadao",
        "metadata": "",
        **change,
    }
    with pytest.raises(vote712.VoteRefused) as refusal:
        vote712.parse_ballot(message)
    assert refusal.value.code == code and words in refusal.value.message
