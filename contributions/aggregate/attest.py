"""EIP-712 ``QueryAttestation``: the validator's signature over a query's result. Pure.

It binds the DAO, the release (its manifest CID), the exact SQL (keccak256 of its UTF-8), the
result (SHA-256 of its canonical JSON) and the group-size floor it was run under, so a result
handed on cannot be altered or passed off as another query's.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from eth_utils import keccak

from datadao.eip712 import DOMAIN_TYPE, domain

QUERY_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "QueryAttestation": [
        {"name": "daoId", "type": "bytes32"},
        {"name": "releaseCid", "type": "string"},
        {"name": "queryHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
        {"name": "minGroupRows", "type": "uint32"},
    ],
}


def result_sha256(result: dict[str, Any]) -> str:
    """SHA-256 of the result's canonical JSON (sorted keys, no spaces, UTF-8), 0x-hex."""
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def typed_data(
    *, dao_id: str, chain_id: int, release_cid: str, sql: str, result: dict[str, Any], k: int
) -> dict[str, Any]:
    return {
        "types": QUERY_TYPES,
        "primaryType": "QueryAttestation",
        "domain": domain(chain_id),
        "message": {
            "daoId": dao_id,
            "releaseCid": release_cid,
            "queryHash": "0x" + keccak(text=sql).hex(),
            "resultHash": result_sha256(result),
            "minGroupRows": k,
        },
    }
