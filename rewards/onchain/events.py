"""Reading a distributor's events in block ranges, decoded against the committed ABI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic
from web3 import Web3
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


@dataclass(frozen=True)
class _Layout:
    """How one event's log is laid out: its indexed inputs come in topics 1.., the rest
    ABI-encoded in ``data``."""

    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type)
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


@lru_cache(maxsize=1)
def _by_topic() -> dict[bytes, _Layout]:
    abi = artifact.contract()["abi"]
    layouts = {}
    for item in abi:
        if item.get("type") != "event" or item["name"] not in FOLLOWED:
            continue
        inputs = item["inputs"]
        layouts[bytes(event_abi_to_log_topic(item))] = _Layout(
            name=item["name"],
            indexed=tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
            data_names=tuple(i["name"] for i in inputs if not i["indexed"]),
            data_types=tuple(i["type"] for i in inputs if not i["indexed"]),
        )
    return layouts


def _topic_value(kind: str, topic: bytes) -> Any:
    if kind == "address":
        return Web3.to_checksum_address(topic[12:])
    if kind.startswith("uint"):
        return int.from_bytes(topic, "big")
    return "0x" + topic.hex()  # bytes32 (the distributor indexes no dynamic types)


def _decode(layout: _Layout, topics: list[bytes], data: bytes) -> dict[str, Any]:
    """Decoded straight from the ABI layout: a fraction of web3's generic decoder's cost,
    which is most of a reader's time on a busy contract."""
    args = {
        name: _topic_value(kind, bytes(topic))
        for (name, kind), topic in zip(layout.indexed, topics[1:], strict=True)
    }
    values = abi_decode(list(layout.data_types), bytes(data)) if layout.data_types else ()
    for name, value in zip(layout.data_names, values, strict=True):
        args[name] = _plain(value)
    return args


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
        layout = known.get(bytes(topics[0])) if topics else None
        if layout is None:
            continue
        events.append(
            Event(
                name=layout.name,
                block_number=int(log["blockNumber"]),
                block_hash=_hex(log["blockHash"]),
                tx_hash=_hex(log["transactionHash"]),
                log_index=int(log["logIndex"]),
                args=_decode(layout, topics, log["data"]),
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
