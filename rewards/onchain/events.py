"""Reading a distributor's events in block ranges, decoded against the committed ABI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import BlockNotFound

from rewards.onchain import artifact

FOLLOWED = ("EpochRootSet", "Claimed", "VoucherRedeemed")


@dataclass(frozen=True)
class Event:
    name: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    args: dict[str, Any]


@lru_cache(maxsize=1)
def _by_topic() -> dict[bytes, dict[str, Any]]:
    abi = artifact.contract()["abi"]
    return {
        bytes(event_abi_to_log_topic(item)): item
        for item in abi
        if item.get("type") == "event" and item["name"] in FOLLOWED
    }


def block_ranges(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Inclusive ``(from, to)`` ranges covering ``start..end`` in steps of at most ``size``."""
    size = max(1, size)
    while start <= end:
        stop = min(end, start + size - 1)
        yield start, stop
        start = stop + 1


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, int):
        return value
    return str(value)


def read(w3: Web3, address: str, from_block: int, to_block: int) -> list[Event]:
    """The followed events of the contract at ``address`` in ``from_block..to_block``, in chain
    order. Logs of other events (none today) are ignored."""
    logs = w3.eth.get_logs(
        {
            "address": Web3.to_checksum_address(address),
            "fromBlock": from_block,
            "toBlock": to_block,
        }
    )
    known = _by_topic()
    events = []
    for log in logs:
        topics = log.get("topics") or []
        abi = known.get(bytes(topics[0])) if topics else None
        if abi is None:
            continue
        decoded = get_event_data(w3.codec, abi, log)
        events.append(
            Event(
                name=abi["name"],
                block_number=int(log["blockNumber"]),
                block_hash=_hex(log["blockHash"]),
                tx_hash=_hex(log["transactionHash"]),
                log_index=int(log["logIndex"]),
                args={key: _plain(value) for key, value in decoded["args"].items()},
            )
        )
    events.sort(key=lambda e: (e.block_number, e.log_index))
    return events


def block_hash(w3: Web3, number: int) -> str | None:
    """The hash of block ``number``, or None when the chain has no such block (it was
    reorganised away and the chain is shorter now)."""
    try:
        block = w3.eth.get_block(number)
    except BlockNotFound:
        return None
    return _hex(block["hash"]) if block is not None else None
