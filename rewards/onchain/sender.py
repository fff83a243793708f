"""Building, signing and pricing transactions for one sending account.

Nothing here keeps state: the caller records each signed transaction (its nonce, hash and raw
bytes) before broadcasting it, so a crash between the two is recovered by broadcasting the same
bytes again (one hash, so never a second payment of gas or a second effect), and a stuck one is
replaced by re-signing the same nonce with higher fees.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

# A replacement must raise both fee caps by at least 10 % (geth, Hardhat and most mempools);
# 12.5 % leaves room for integer rounding.
REPLACEMENT_BUMP_NUM, REPLACEMENT_BUMP_DEN = 9, 8
# Gas estimates are padded: state can change between estimate and inclusion.
GAS_PAD_NUM, GAS_PAD_DEN = 6, 5


@dataclass(frozen=True)
class Fees:
    max_fee: int
    priority_fee: int

    def bumped(self) -> Fees:
        """The least fees a node accepts as a replacement of a transaction priced at these."""
        return Fees(
            max_fee=-(-self.max_fee * REPLACEMENT_BUMP_NUM // REPLACEMENT_BUMP_DEN) + 1,
            priority_fee=-(-self.priority_fee * REPLACEMENT_BUMP_NUM // REPLACEMENT_BUMP_DEN) + 1,
        )

    def at_least(self, other: Fees) -> Fees:
        return Fees(max(self.max_fee, other.max_fee), max(self.priority_fee, other.priority_fee))


@dataclass(frozen=True)
class SignedTx:
    nonce: int
    tx_hash: str
    raw: str
    fees: Fees
    gas: int


def current_fees(w3: Web3) -> Fees:
    """EIP-1559 fees that stay valid through several blocks of rising base fee: twice the
    latest base fee plus the node's suggested tip."""
    latest = w3.eth.get_block("latest")
    base = int(latest.get("baseFeePerGas") or 0)
    try:
        tip = int(w3.eth.max_priority_fee)
    except Exception:  # a node without eth_maxPriorityFeePerGas: a common 1 gwei tip
        tip = 10**9
    return Fees(max_fee=2 * base + tip, priority_fee=tip)


def estimate_gas(w3: Web3, sender: str, call: dict[str, Any]) -> int:
    gas = int(w3.eth.estimate_gas({"from": sender, **call}))
    return gas * GAS_PAD_NUM // GAS_PAD_DEN


def sign(
    w3: Web3, account: LocalAccount, call: dict[str, Any], *, nonce: int, fees: Fees, gas: int
) -> SignedTx:
    """``call`` holds ``to`` (absent for a deployment), ``data`` and optionally ``value``."""
    tx = {
        "type": 2,
        "chainId": int(w3.eth.chain_id),
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": fees.max_fee,
        "maxPriorityFeePerGas": fees.priority_fee,
        "value": int(call.get("value", 0)),
        "data": call.get("data", "0x"),
    }
    if call.get("to"):
        tx["to"] = Web3.to_checksum_address(call["to"])
    signed = account.sign_transaction(tx)
    return SignedTx(
        nonce=nonce,
        tx_hash="0x" + bytes(signed.hash).hex(),
        raw="0x" + bytes(signed.raw_transaction).hex(),
        fees=fees,
        gas=gas,
    )


def broadcast(w3: Web3, raw: str) -> None:
    """Send signed bytes. A node that already has them (or has mined them) is not an error:
    re-broadcasting after a crash must be harmless."""
    try:
        w3.eth.send_raw_transaction(raw)
    except Exception as exc:
        message = str(exc).lower()
        if any(
            known in message
            for known in ("already known", "known transaction", "already imported", "nonce too low")
        ):
            return
        raise


def receipt(w3: Web3, tx_hash: str) -> dict[str, Any] | None:
    """The receipt, or None while the transaction is not mined."""
    try:
        found = w3.eth.get_transaction_receipt(tx_hash)
    except Exception as exc:  # web3 raises TransactionNotFound; other errors propagate
        if type(exc).__name__ == "TransactionNotFound":
            return None
        raise
    return dict(found) if found is not None else None


def wait_for_receipt(w3: Web3, tx_hash: str, *, timeout: float) -> dict[str, Any] | None:
    """The receipt once mined, polling every half second; None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = receipt(w3, tx_hash)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)
