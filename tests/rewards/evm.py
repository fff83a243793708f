"""A local EVM for the rewards contracts: compile, deploy, fund, and decode reverts.

The contracts in ``rewards/contracts`` are compiled by ``compile.mjs`` with solcjs (wasm, pinned
in ``package-lock.json``) because native compilers (py-solc-x, solc-select) are downloaded at run
time and this project must work offline. They run on py-evm through eth-tester, so no node
process stays up during the tests. No Django imports: any test can use this module.

Typical use::

    artifacts = compile_contracts(tmp_dir)            # once per session, ~5 s
    w3 = new_chain()                                  # fresh chain per test, ~20 ms
    token, distributor = deploy_distributor(w3, signer.address, dao_id, artifacts=artifacts)
    fund(token, distributor.address, 10**24)
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.types import TxReceipt

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "rewards" / "contracts"
COMPILE_SCRIPT = CONTRACTS_DIR / "compile.mjs"
NODE_MODULES = CONTRACTS_DIR / "node_modules"
INSTALL_HINT = "run `npm ci --prefix rewards/contracts` (Node.js 20+)"

# solc and OpenZeppelin compile in ~5 s; allow for a slow CI machine without hanging forever.
_COMPILE_TIMEOUT_S = 180


class EvmToolchainMissing(RuntimeError):
    """node or the npm packages in rewards/contracts are not installed."""


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str


Artifacts = Mapping[str, Artifact]


def compile_contracts(out_dir: Path) -> Artifacts:
    """Compile the rewards contracts into ``out_dir/artifacts.json`` and load them.

    Raises EvmToolchainMissing (with the command that fixes it) rather than letting a missing
    toolchain turn into a skipped or confusing test.
    """
    node = shutil.which("node")
    if node is None:
        raise EvmToolchainMissing(f"node is not on PATH; install Node.js 20+, then {INSTALL_HINT}")
    if not (NODE_MODULES / "solc").is_dir() or not (NODE_MODULES / "@openzeppelin").is_dir():
        raise EvmToolchainMissing(f"{NODE_MODULES} is missing or incomplete; {INSTALL_HINT}")

    out = out_dir / "artifacts.json"
    result = subprocess.run(
        [node, str(COMPILE_SCRIPT), str(out)],
        capture_output=True,
        text=True,
        timeout=_COMPILE_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"compile.mjs failed ({result.returncode}):\n{result.stderr}")
    contracts = json.loads(out.read_text())["contracts"]
    return {
        name: Artifact(abi=data["abi"], bytecode=data["bytecode"])
        for name, data in contracts.items()
    }


def new_chain() -> Web3:
    """A fresh in-process chain with ten funded, unlocked accounts (``w3.eth.accounts``).

    Its chain id is eth-tester's own (not 1337): read ``w3.eth.chain_id`` for EIP-712 domains.
    """
    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


def tester(w3: Web3) -> EthereumTester:
    provider = w3.provider
    assert isinstance(provider, EthereumTesterProvider)
    return provider.ethereum_tester


def advance_time(w3: Web3, to_timestamp: int) -> None:
    """Move the chain clock and mine a block, so the next transaction sees the new timestamp."""
    chain = tester(w3)
    chain.time_travel(to_timestamp)
    chain.mine_blocks()


def latest_timestamp(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def transact(w3: Web3, call: Any, sender: str | None = None) -> TxReceipt:
    """Send a contract function call and wait for it; a revert raises TransactionFailed."""
    tx_hash = call.transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, receipt
    return receipt


def deploy(w3: Web3, artifact: Artifact, *args: Any, sender: str | None = None) -> Contract:
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = transact(w3, factory.constructor(*args), sender)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def deploy_distributor(
    w3: Web3,
    signer_address: str,
    dao_id: str,
    *,
    artifacts: Artifacts,
    token: Contract | None = None,
) -> tuple[Contract, Contract]:
    """Deploy a TestToken (unless one is given) and a DatadaoDistributor trusting
    ``signer_address`` and paying for the DAO ``dao_id`` (0x + 64 hex). The distributor starts
    unfunded; see ``fund``."""
    if token is None:
        token = deploy(w3, artifacts["TestToken"])
    distributor = deploy(
        w3,
        artifacts["DatadaoDistributor"],
        token.address,
        signer_address,
        bytes.fromhex(dao_id[2:]),
    )
    return token, distributor


def fund(token: Contract, to: str, amount: int) -> None:
    """Mint test tokens to ``to`` (TestToken's mint is open to anyone)."""
    transact(token.w3, token.functions.mint(to, amount))


@dataclass(frozen=True)
class Revert:
    name: str
    args: tuple[Any, ...]


# eth-tester puts the raw revert data into the message as a Python bytes literal.
_REVERT_DATA = re.compile(r"(b(['\"]).*\2)\s*$", re.DOTALL)


def _error_selectors(contract: Contract) -> dict[bytes, tuple[str, list[str]]]:
    selectors = {}
    for entry in contract.abi:
        if entry["type"] != "error":
            continue
        types = [arg["type"] for arg in entry["inputs"]]
        signature = f"{entry['name']}({','.join(types)})"
        selectors[keccak(text=signature)[:4]] = (entry["name"], types)
    return selectors


def decode_revert(exc: TransactionFailed, contract: Contract) -> Revert:
    """Turn eth-tester's revert message into the contract's custom error and its arguments."""
    match = _REVERT_DATA.search(str(exc))
    if match is None:
        raise AssertionError(f"no revert data in {exc!s}")
    data = ast.literal_eval(match.group(1))
    known = _error_selectors(contract)
    if data[:4] not in known:
        raise AssertionError(f"revert data {data.hex()} matches no error in the ABI")
    name, types = known[data[:4]]
    values = abi_decode(types, data[4:])
    # eth_abi returns lower-case addresses; checksum them so they compare equal to web3's.
    args = tuple(
        to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)
    )
    return Revert(name=name, args=args)


@contextmanager
def expect_revert(contract: Contract, error: str, *args: Any) -> Iterator[None]:
    """Assert the block reverts with ``contract``'s custom ``error`` (and ``args`` when given)."""
    with pytest.raises(TransactionFailed) as info:
        yield
    revert = decode_revert(info.value, contract)
    assert revert.name == error, f"reverted with {revert}, expected {error}"
    if args:
        assert revert.args == args, f"reverted with {revert}, expected {error}{args}"
