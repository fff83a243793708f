"""rewards.merkle against OpenZeppelin's StandardMerkleTree, and its own properties."""

from __future__ import annotations

import json
import random
import re

import pytest
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.keccak import keccak256
from rewards.merkle import StandardMerkleTree, leaf_hash, verify
from tests.rewards.oz import oz_dump_and_proofs

MAX_UINT256 = 2**256 - 1


def _address(rng: random.Random) -> str:
    return to_checksum_address(rng.randbytes(20))


def _allocations(seed: int, n: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(_address(rng), rng.randrange(10**24)) for _ in range(n)]


def _duplicates() -> list[tuple[str, int]]:
    rng = random.Random(7)
    a, b = _address(rng), _address(rng)
    # Same address with different amounts, and an exact repeat (equal leaves: the sort must
    # keep them in input order, as JavaScript's stable sort does).
    return [(a, 5), (b, 1), (a, 6), (b, 1), (a, 5), (_address(rng), 0)]


CASES = {
    "one-leaf": _allocations(1, 1),
    "two-leaves": _allocations(2, 2),
    "three-leaves": _allocations(3, 3),
    "power-of-two": _allocations(4, 16),
    "power-of-two-plus-one": _allocations(5, 17),
    "duplicates": _duplicates(),
    "extreme-amounts": [
        (_address(random.Random(9)), 0),
        (_address(random.Random(10)), MAX_UINT256),
        *_allocations(11, 5),
    ],
    "thousand": _allocations(12, 1000),
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_dump_and_proofs_match_openzeppelin(values: list[tuple[str, int]]) -> None:
    oz_dump, oz_proofs = oz_dump_and_proofs(values)
    tree = StandardMerkleTree.of(values)
    assert tree.dump_json() == oz_dump  # byte for byte
    assert tree.dump() == json.loads(oz_dump)
    assert tree.proofs() == oz_proofs
    assert [tree.proof(i) for i in range(len(values))] == oz_proofs
    assert list(tree.iter_proofs()) == oz_proofs


def test_openzeppelin_dump_loads() -> None:
    values = CASES["duplicates"]
    oz_dump, _ = oz_dump_and_proofs(values)
    tree = StandardMerkleTree.load(json.loads(oz_dump))
    assert tree.values == tuple(values)
    assert tree.dump_json() == oz_dump


def test_readme_example_root() -> None:
    # The example in @openzeppelin/merkle-tree's README, whose root is published there.
    tree = StandardMerkleTree.of(
        [
            ("0x1111111111111111111111111111111111111111", 5000000000000000000),
            ("0x2222222222222222222222222222222222222222", 2500000000000000000),
        ]
    )
    assert tree.root == "0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77"


def test_leaf_is_double_hashed_abi_encoding() -> None:
    account, amount = "0x" + "ab" * 20, 10**18
    encoded = bytes(12) + bytes.fromhex("ab" * 20) + amount.to_bytes(32)
    assert leaf_hash(account, amount) == keccak256(keccak256(encoded))


def test_addresses_come_out_checksummed() -> None:
    checksummed = to_checksum_address("0x" + "ab" * 20)
    tree = StandardMerkleTree.of([(checksummed.lower(), 1), ("0x" + "AB" * 20, 2)])
    assert tree.values == ((checksummed, 1), (checksummed, 2))
    assert [entry["value"][0] for entry in tree.dump()["values"]] == [checksummed] * 2


def test_iteration_and_length() -> None:
    values = CASES["three-leaves"]
    tree = StandardMerkleTree.of(values)
    assert len(tree) == 3
    assert list(tree) == list(enumerate(values))


# --- Properties ---------------------------------------------------------------------------------

addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)
amounts = st.one_of(st.integers(0, MAX_UINT256), st.sampled_from([0, 1, MAX_UINT256]))
allocation_lists = st.lists(st.tuples(addresses, amounts), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(values=allocation_lists)
def test_every_proof_verifies_and_every_path_agrees(values: list[tuple[str, int]]) -> None:
    tree = StandardMerkleTree.of(values)
    proofs = tree.proofs()
    assert proofs == [tree.proof(i) for i in range(len(values))] == list(tree.iter_proofs())
    for (account, amount), proof in zip(values, proofs, strict=True):
        assert verify(tree.root, account, amount, proof)
        assert verify(tree.root.upper().replace("0X", "0x"), account.lower(), amount, proof)


@settings(max_examples=60, deadline=None)
@given(values=allocation_lists, data=st.data())
def test_any_change_breaks_verification(values: list[tuple[str, int]], data: st.DataObject) -> None:
    tree = StandardMerkleTree.of(values)
    i = data.draw(st.integers(0, len(values) - 1))
    account, amount = values[i]
    proof = tree.proof(i)

    assert not verify(tree.root, account, (amount + 1) % (MAX_UINT256 + 1), proof)
    other = data.draw(addresses.filter(lambda a: a != account))
    assert not verify(tree.root, other, amount, proof)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = int(proof[j], 16) ^ (1 << bit)
        tampered = [*proof[:j], f"0x{flipped:064x}", *proof[j + 1 :]]
        assert not verify(tree.root, account, amount, tampered)
        assert not verify(tree.root, account, amount, proof[:-1])
    assert not verify(tree.root, account, amount, [*proof, "0x" + "00" * 32])


@settings(max_examples=40, deadline=None)
@given(values=allocation_lists)
def test_load_round_trips(values: list[tuple[str, int]]) -> None:
    tree = StandardMerkleTree.of(values)
    loaded = StandardMerkleTree.load(json.loads(tree.dump_json()))
    assert loaded.dump() == tree.dump()
    assert loaded.root == tree.root and loaded.values == tree.values
    assert loaded.proofs() == tree.proofs()


# --- Refusals -----------------------------------------------------------------------------------

GOOD = "0x" + "12" * 20


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "a Merkle tree needs at least one value"),
        ([(GOOD, 1.0)], "values[0]: amount must be an int, not float"),
        ([(GOOD, 1), (GOOD, -1)], "values[1]: amount must not be negative"),
        ([(GOOD, 2**256)], "values[0]: amount does not fit in a uint256"),
        ([(GOOD, True)], "values[0]: amount must be an int, not bool"),
        ([(GOOD, "5")], "values[0]: amount must be an int, not str"),
        ([("0x1234", 1)], "values[0]: address must be a 0x-prefixed 20-byte hex address"),
        ([("12" * 20, 1)], "values[0]: address must be a 0x-prefixed 20-byte hex address"),
        ([("0x" + "zz" * 20, 1)], "values[0]: address must be a 0x-prefixed 20-byte hex address"),
        ([(None, 1)], "values[0]: address must be a 0x-prefixed 20-byte hex address"),
        # EIP-55's own example with its first letter lowered: the typo a checksum exists to catch.
        (
            [("0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 1)],
            "values[0]: address has an invalid EIP-55 checksum",
        ),
        ([(GOOD, 1, 2)], "values[0] must be an (address, amount) pair"),
        ([GOOD], "values[0] must be an (address, amount) pair"),
        ("not a list", "values must be a sequence"),
    ],
)
def test_of_refuses(values: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        StandardMerkleTree.of(values)  # type: ignore[arg-type]


def test_leaf_hash_refuses_like_the_tree() -> None:
    with pytest.raises(ValueError, match="amount must be an int, not float"):
        leaf_hash(GOOD, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="account must be a 0x-prefixed"):
        leaf_hash("0x12", 1)


def test_proof_index_checks() -> None:
    tree = StandardMerkleTree.of(CASES["three-leaves"])
    with pytest.raises(IndexError, match="index 3 is out of range for 3 values"):
        tree.proof(3)
    with pytest.raises(IndexError):
        tree.proof(-1)
    with pytest.raises(TypeError):
        tree.proof("0")  # type: ignore[arg-type]


def test_verify_refuses_malformed_input() -> None:
    tree = StandardMerkleTree.of(CASES["three-leaves"])
    account, amount = CASES["three-leaves"][0]
    proof = tree.proof(0)
    with pytest.raises(ValueError, match="root must be 0x followed by 64 hex digits"):
        verify(tree.root[:-2], account, amount, proof)
    with pytest.raises(ValueError, match=r"proof\[1\] must be 0x followed by 64 hex digits"):
        verify(tree.root, account, amount, [proof[0], "0x12"])
    with pytest.raises(ValueError, match="proof must be a list"):
        verify(tree.root, account, amount, proof[0])
    with pytest.raises(ValueError, match="amount must be an int"):
        verify(tree.root, account, float(amount), proof)  # type: ignore[arg-type]


def _dump(n: int = 5) -> dict:
    return StandardMerkleTree.of(_allocations(42, n)).dump()


def _with(dump: dict, path: tuple, value: object) -> dict:
    edited = json.loads(json.dumps(dump))
    target = edited
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return edited


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("format",), "simple-v1", "unknown tree format 'simple-v1'"),
        (("leafEncoding",), ["address", "uint128"], "leafEncoding must be"),
        (("tree",), None, "a tree dump needs 'tree' and 'values' lists"),
        (("values",), [], "at least one value"),
        (("tree", 0), "0x" + "00" * 32, r"tree\[0\] does not match the values"),
        (("tree", 2), "0x12", r"tree\[2\] must be 0x followed by 64 hex digits"),
        (("values", 1, "value", 1), "1.5", r"values\[1\] amount must be a decimal integer"),
        (("values", 1, "value", 1), "0001", r"values\[1\] amount must be a decimal integer"),
        (("values", 1, "value", 0), "0x12", r"values\[1\] address must be"),
        (("values", 1, "treeIndex"), 0, r"values\[1\].treeIndex 0 is not a leaf position"),
        (("values", 1, "treeIndex"), "5", r"values\[1\].treeIndex must be an int"),
        (("values", 1), {"value": ["0x" + "12" * 20]}, r"values\[1\].value must be"),
    ],
)
def test_load_refuses(path: tuple, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StandardMerkleTree.load(_with(_dump(), path, value))


def test_load_refuses_edited_amount_and_shared_leaf() -> None:
    dump = _dump()
    amount = int(dump["values"][2]["value"][1])
    with pytest.raises(ValueError, match="does not match the values"):
        StandardMerkleTree.load(_with(dump, ("values", 2, "value", 1), str(amount + 1)))
    index = dump["values"][0]["treeIndex"]
    with pytest.raises(ValueError, match="is used twice"):
        StandardMerkleTree.load(_with(dump, ("values", 1, "treeIndex"), index))


def test_load_refuses_wrong_node_count() -> None:
    dump = _dump()
    dump["tree"].append(dump["tree"][-1])
    with pytest.raises(ValueError, match="'tree' has 10 nodes; 5 values need 9"):
        StandardMerkleTree.load(dump)
