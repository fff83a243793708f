"""A throwaway, offline JSON-RPC EVM node for tests: Hardhat's node (npm ``hardhat``, whose EDR
engine ships as a registry binary; pinned in ``tests/chainnode/package-lock.json``).

Install once with ``npm ci --prefix tests/chainnode``. No Django imports. Typical use::

    with ChainNode() as node:
        w3 = node.web3()
        node.rpc("evm_mine")
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from rewards.onchain import sender
from tests.ipfsnode import _free_port

NODE_DIR = Path(__file__).resolve().parent / "chainnode"
CLI = NODE_DIR / "node_modules" / "hardhat" / "internal" / "cli" / "cli.js"
CONFIG = NODE_DIR / "hardhat.config.cjs"
CHAIN_ID = 31337
# Hardhat's well-known development accounts (mnemonic "test test ... junk"), each funded with
# 10 000 ETH on its node: public test keys, never secrets.
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)


def send(w3: Web3, account: LocalAccount, call: dict[str, Any]) -> dict[str, Any]:
    """Sign ``call`` (``to``, ``data``; no ``to`` deploys) from ``account`` at the node's fees and
    gas, send it, and return its receipt; the node must be automining. A revert raises."""
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    gas = sender.estimate_gas(w3, account.address, call)
    signed = sender.sign(w3, account, call, nonce=nonce, fees=sender.current_fees(w3), gas=gas)
    sender.broadcast(w3, signed.raw)
    found = sender.receipt(w3, signed.tx_hash)
    if found is None or found["status"] != 1:
        raise RuntimeError(f"{signed.tx_hash} was not mined, or reverted: {found}")
    return found


class ChainNode:
    """One Hardhat node on a loopback port; ``close()`` (or the ``with`` block) stops it."""

    def __init__(self, *, startup_timeout: float = 60.0) -> None:
        self.port = _free_port()
        self.startup_timeout = startup_timeout
        self._tmp = Path(tempfile.mkdtemp(prefix="chainnode-"))
        self._log = self._tmp / "node.log"
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not CLI.is_file():
            raise RuntimeError(
                f"Hardhat is not installed ({CLI} missing): run `npm ci --prefix tests/chainnode`"
            )
        env = dict(os.environ, HARDHAT_DISABLE_TELEMETRY_PROMPT="true", DO_NOT_TRACK="1")
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    "node", str(CLI), "node", "--config", str(CONFIG),
                    "--hostname", "127.0.0.1", "--port", str(self.port),
                ],
                cwd=NODE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"hardhat node exited:\n{self._log.read_text()[-3000:]}")
            try:
                if self.rpc("eth_chainId") == hex(CHAIN_ID):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"hardhat node did not answer in time:\n{self._log.read_text()[-3000:]}")

    def rpc(self, method: str, *params: Any) -> Any:
        reply = requests.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            timeout=30,
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def web3(self) -> Web3:
        return Web3(HTTPProvider(self.url, request_kwargs={"timeout": 30}))

    def mine(self, blocks: int = 1) -> None:
        self.rpc("hardhat_mine", hex(blocks))

    def automine(self, on: bool) -> None:
        self.rpc("evm_setAutomine", on)

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot: str) -> None:
        if not self.rpc("evm_revert", snapshot):
            raise RuntimeError(f"evm_revert {snapshot} refused")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> ChainNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
