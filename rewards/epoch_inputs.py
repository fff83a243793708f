"""An epoch's inputs as published: every credit it settled, its budget, what its root is signed
for. Pure: no Django imports.

Pinned when the epoch closes, next to the tree's dump, so anyone can replay the settlement
(``settle``: allocations by ``rewards.allocations.allocate``, then OpenZeppelin's
StandardMerkleTree) and compare the root with the signed ``EpochRoot`` and with the root set
on chain, without this platform's database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rewards.allocations import allocate
from rewards.merkle import StandardMerkleTree
from rewards.netting import apply

FORMAT = 1
# Format 2 adds ``clawbacks``: what was netted from the allocations (``rewards.netting``). A
# document without any stays format 1, so verifiers that know only format 1 still replay it.
FORMAT_CLAWBACKS = 2
FORMATS = (FORMAT, FORMAT_CLAWBACKS)
# The root of an epoch that pays nobody (every allocation netted to zero by clawbacks): the
# bytes32 zero, which is also what the distributor's ``epochRoot`` reads for an epoch whose root
# was never set. Nothing can be claimed against it: ``setEpochRoot`` refuses it.
EMPTY_ROOT = "0x" + "00" * 32


def inputs_document(
    *,
    dao_id: str,
    chain_id: int,
    epoch: int,
    verifying_contract: str,
    budget: int | None,
    credits: Iterable[tuple[str, int, str, str]],
    clawbacks: Iterable[tuple[str, str, int]] = (),
) -> dict[str, Any]:
    """The inputs of epoch ``epoch``: ``credits`` are (address, amount, reason, source), where
    source is "<source type>:<source id>" (e.g. ``contributions.contribution:12``). Credits
    are listed in a fixed order, so the same epoch always gives the same bytes.

    ``clawbacks``: (source, address, amount) netted from the allocations, in the order they
    were taken (``rewards.netting.net``); listed as taken."""
    listed = sorted(
        (
            {"account": address, "amount": str(amount), "reason": reason, "source": source}
            for address, amount, reason, source in credits
        ),
        key=lambda c: (c["source"], c["reason"], c["account"], int(c["amount"])),
    )
    netted = [
        {"source": source, "account": address, "amount": str(amount)}
        for source, address, amount in clawbacks
    ]
    document: dict[str, Any] = {
        "datadao_epoch_inputs": FORMAT_CLAWBACKS if netted else FORMAT,
        "dao_id": dao_id,
        "chain_id": chain_id,
        "epoch": epoch,
        "verifying_contract": verifying_contract,
        # Decimal strings: a uint256 budget does not fit every JSON reader's numbers.
        "budget": None if budget is None else str(budget),
        "credits": listed,
    }
    if netted:
        document["clawbacks"] = netted
    return document


def inputs_bytes(document: Mapping[str, Any]) -> bytes:
    """The canonical serialization: sorted keys, no whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def iter_inputs_bytes(
    *,
    dao_id: str,
    chain_id: int,
    epoch: int,
    verifying_contract: str,
    budget: int | None,
    credits: list[tuple[str, int, str, str]],
    clawbacks: Iterable[tuple[str, str, int]] = (),
) -> Iterator[bytes]:
    """``inputs_bytes(inputs_document(...))`` in pieces, byte for byte, without a dict per
    credit: a million credits as dicts and one string held about 600 MB. Sorts ``credits``
    in place (by the document's order)."""
    dumps = json.dumps
    netted = [
        {"account": address, "amount": str(amount), "source": source}
        for source, address, amount in clawbacks
    ]
    head = {
        "budget": None if budget is None else str(budget),
        "chain_id": chain_id,
        **({"clawbacks": netted} if netted else {}),
    }
    tail = {
        "dao_id": dao_id,
        "datadao_epoch_inputs": FORMAT_CLAWBACKS if netted else FORMAT,
        "epoch": epoch,
        "verifying_contract": verifying_contract,
    }
    yield dumps(head, sort_keys=True, separators=(",", ":"))[:-1].encode() + b',"credits":['
    credits.sort(key=lambda c: (c[3], c[2], c[0], c[1]))
    step = 20_000
    for start in range(0, len(credits), step):
        text = ",".join(
            [
                f'{{"account":{dumps(a)},"amount":"{v}","reason":{dumps(r)},"source":{dumps(s)}}}'
                for a, v, r, s in credits[start : start + step]
            ]
        )
        yield (("," if start else "") + text).encode()
    yield b"]," + dumps(tail, sort_keys=True, separators=(",", ":"))[1:].encode()


@dataclass(frozen=True)
class Settlement:
    """What settling an epoch's credits gives: the leaves (address, amount > 0) sorted, the
    Merkle root (``EMPTY_ROOT`` when nothing is paid), the total and whether the budget scaled
    them."""

    values: list[tuple[str, int]]
    root: str
    total: int
    scaled: bool


def settle(document: Mapping[str, Any]) -> Settlement:
    """Replay an inputs document. Raises ValueError (or KeyError/TypeError) on a malformed
    one."""
    if document.get("datadao_epoch_inputs") not in FORMATS:
        raise ValueError(f"not an epoch inputs document of format {' or '.join(map(str, FORMATS))}")
    budget = None if document["budget"] is None else int(document["budget"])
    entries = [(c["account"], int(c["amount"]), c["reason"]) for c in document["credits"]]
    allocations, scaled = allocate(entries, budget)
    if document["datadao_epoch_inputs"] == FORMAT_CLAWBACKS:
        allocations = apply(
            allocations,
            [(c["source"], c["account"], int(c["amount"])) for c in document["clawbacks"]],
        )
    values = sorted((address, amount) for address, amount in allocations.items() if amount > 0)
    root = StandardMerkleTree.of(values).root if values else EMPTY_ROOT
    return Settlement(values=values, root=root, total=sum(a for _, a in values), scaled=scaled)
