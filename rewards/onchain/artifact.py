"""The compiled rewards contracts, committed beside their sources (``contracts/artifacts.json``,
written by ``contracts/compile.mjs``; a test recompiles and compares), and the check that a
deployed contract's code is exactly that build."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent.parent / "contracts" / "artifacts.json"
DISTRIBUTOR = "DatadaoDistributor"


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    return json.loads(ARTIFACTS.read_text())


def compiler() -> dict[str, Any]:
    return dict(_load()["compiler"])


def contract(name: str = DISTRIBUTOR) -> dict[str, Any]:
    """``abi``, ``bytecode`` (creation), ``deployedBytecode`` and ``immutableReferences``."""
    try:
        return _load()["contracts"][name]
    except KeyError:
        raise KeyError(f"no compiled contract named {name!r} in {ARTIFACTS}") from None


def _masked(code: bytes, references: dict[str, list[dict[str, int]]]) -> bytes:
    """``code`` with every immutable's bytes zeroed: the constructor fills them per deployment
    (token, signer, daoId, the EIP-712 domain's cached values), so they are the only bytes a
    faithful deployment may differ in."""
    out = bytearray(code)
    for spans in references.values():
        for span in spans:
            start, length = span["start"], span["length"]
            out[start : start + length] = bytes(length)
    return bytes(out)


def runtime_matches(code: bytes, name: str = DISTRIBUTOR) -> bool:
    """Whether ``code`` (``eth_getCode`` of a deployment) is this build of ``name``."""
    built = contract(name)
    expected = bytes.fromhex(built["deployedBytecode"].removeprefix("0x"))
    if len(code) != len(expected):
        return False
    references = built.get("immutableReferences") or {}
    return _masked(bytes(code), references) == _masked(expected, references)
