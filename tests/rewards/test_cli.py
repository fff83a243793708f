"""The operator commands rewards_tree and rewards_voucher (no database)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from rewards.eip712 import recover_typed_data, typed_data_digest
from rewards.merkle import StandardMerkleTree, verify

A = to_checksum_address("0x" + "a1" * 20)
B = to_checksum_address("0x" + "b2" * 20)
C = to_checksum_address("0x" + "c3" * 20)
KEY = "0x" + keccak(text="datadao-test-cli-reward-signer").hex()
DAO_ID = "0x" + keccak(text="datadao-test-cli-dao").hex()
SIGNER_ENV = ("REWARD_SIGNER_KEY", "REWARD_SIGNER_KEYSTORE", "REWARD_SIGNER_PASSWORD")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _csv(tmp_path: Path, text: str, name: str = "allocations.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


# --- rewards_tree -------------------------------------------------------------------------------


def test_tree_prints_root_and_writes_the_dump(tmp_path: Path) -> None:
    rows = [(A, 10**18), (B, 5), (C, 0)]
    csv_path = _csv(tmp_path, "address,amount\n" + "".join(f"{a},{n}\n" for a, n in rows), bom=True)
    dump_path = tmp_path / "dump.json"

    out = _run("rewards_tree", str(csv_path), "--output", str(dump_path))

    tree = StandardMerkleTree.of(rows)
    assert out.splitlines() == [f"root {tree.root}", "allocations 3", f"total {10**18 + 5}"]
    assert dump_path.read_text() == tree.dump_json()
    loaded = StandardMerkleTree.load(json.loads(dump_path.read_text()))
    for i, (account, amount) in enumerate(rows):
        assert verify(tree.root, account, amount, loaded.proof(i))
    assert not list(tmp_path.glob(".dump.json.*"))  # no temporary file left behind


def test_tree_without_header(tmp_path: Path) -> None:
    out = _run("rewards_tree", str(_csv(tmp_path, f"{A.lower()},7\n")))
    assert out.splitlines()[0] == f"root {StandardMerkleTree.of([(A, 7)]).root}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"address,amount\n{A},1\n{B},1.5\n", "line 3: amount must be a decimal integer string"),
        (f"address,amount\n{A},1\nnot-an-address,1\n", "line 3: address must be a 0x-prefixed"),
        (f"{A},1\n{B},2,3\n", "line 2: expected 2 columns (address,amount), got 3"),
        (f"{A},1\n{B},2\n{A},3\n", f"line 3: {A} is already allocated on line 1"),
        ("address,amount\n", "line 1: no allocations"),
    ],
)
def test_tree_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(CommandError) as caught:
        _run("rewards_tree", str(path))
    assert str(caught.value).startswith(f"{path}: {message}")


def test_tree_refuses_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        _run("rewards_tree", str(tmp_path / "missing.csv"))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"address,amount\n\xe9\n")
    with pytest.raises(CommandError, match="not UTF-8 text"):
        _run("rewards_tree", str(latin1))


# --- rewards_voucher ----------------------------------------------------------------------------


def _voucher_args(**overrides: str) -> list[str]:
    options = {
        "contributor": A,
        "amount": str(10**18),
        "nonce": "4",
        "deadline": str(int(time.time()) + 86_400),
        "dao-id": DAO_ID,
        "dataset-id": "0x" + keccak(text="dataset:1").hex(),
        "chain-id": "31337",
        "verifying-contract": C,
        **overrides,
    }
    args = ["rewards_voucher"]
    for name, value in options.items():
        args += [f"--{name}", value]
    return args


@pytest.fixture
def signer_env(monkeypatch: pytest.MonkeyPatch) -> Account:
    for name in SIGNER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REWARD_SIGNER_KEY", KEY)
    return Account.from_key(KEY)


def test_voucher_prints_a_signed_payload(signer_env: Account) -> None:
    args = _voucher_args()
    envelope = json.loads(_run(*args))
    assert set(envelope) == {"typedData", "signature", "signer"}
    assert envelope["signer"] == signer_env.address
    payload = envelope["typedData"]
    assert payload["primaryType"] == "Claim"
    assert payload["message"]["amount"] == str(10**18)
    assert payload["message"]["daoId"] == DAO_ID
    assert payload["domain"]["chainId"] == 31337
    assert recover_typed_data(payload, envelope["signature"]) == signer_env.address
    assert len(typed_data_digest(payload)) == 32


def test_voucher_from_a_keystore(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SIGNER_ENV:
        monkeypatch.delenv(name, raising=False)
    keystore = tmp_path / "signer.json"
    # Few KDF iterations: this key guards nothing and the test should be fast.
    keystore.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("REWARD_SIGNER_KEYSTORE", str(keystore))
    monkeypatch.setenv("REWARD_SIGNER_PASSWORD", "pw")
    envelope = json.loads(_run(*_voucher_args()))
    assert envelope["signer"] == Account.from_key(KEY).address


def test_voucher_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SIGNER_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CommandError, match="No rewards signer: set REWARD_SIGNER_KEY"):
        _run(*_voucher_args())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "1.5"}, "--amount must be a decimal integer string"),
        ({"amount": "-1"}, "--amount must be a decimal integer string"),
        ({"nonce": str(2**256)}, "--nonce does not fit in a uint256"),
        ({"chain-id": "0"}, "chain_id must be between 1 and 2"),
        ({"contributor": "0x12"}, "contributor must be a 0x-prefixed"),
        ({"dataset-id": "dataset-1"}, "dataset_id must be 0x followed by 64 hex digits"),
        ({"dao-id": "my-dao"}, "dao_id must be 0x followed by 64 hex digits"),
        ({"dao-id": "0x" + "00" * 32}, "dao_id must not be zero"),
        ({"deadline": "1000"}, "--deadline 1000 is in the past"),
    ],
)
def test_voucher_refuses_bad_options(
    signer_env: Account, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*_voucher_args(**overrides))
