"""Paths of the rewards downloads (``rewards.views``): session only."""

from __future__ import annotations

from datadao.openapi.common import (
    BOOLEAN,
    COUNT,
    DATETIME,
    SESSION,
    STRING,
    UNAUTHENTICATED,
    Schema,
    closed,
    error,
    json_response,
    nullable,
    path_id,
    ref,
)

_UINT = {"type": "string", "pattern": "^[0-9]+$", "description": "uint256, smallest unit."}
_ROYALTY = closed(
    {
        "dao": STRING,
        "dataset": STRING,
        "payment": closed(
            {
                "key": {"type": "string", "description": "What names the payment: its tx hash."},
                "amount": _UINT,
                "releaseCid": {"type": "string", "description": "The release consumed, or ''."},
                "creditedAt": DATETIME,
            }
        ),
        "part": {"type": "string", "enum": ["contributor", "treasury"]},
        "score": nullable(COUNT),
        "totalScore": COUNT,
        "shareBps": {"type": "integer", "minimum": 0, "maximum": 10000},
        "amount": _UINT,
        "display": STRING,
        "epoch": nullable(COUNT),
        "settled": BOOLEAN,
        "reversed": {
            **_UINT,
            "description": "uint256, smallest unit: the part reversed by an upheld challenge of "
            "the work that earned it (withdrawn before it settled, or clawed back after).",
        },
    }
)

PATHS: dict[str, Schema] = {
    # --- rewards ---------------------------------------------------------------------------------
    "/api/rewards/royalties": {
        "get": {
            "tags": ["rewards"],
            "operationId": "my_royalties",
            "summary": "My royalty credits: each consumer payment they came from and my part",
            "description": "The signed-in person's parts of what data consumers paid (newest "
            "first, at most 200): a contributor's share of a payment is their accepted score "
            "over the release's, after the DAO's treasury share; the treasury address sees the "
            "treasury's parts. Session only.",
            "security": [SESSION],
            "responses": {
                "200": json_response(
                    closed({"royalties": {"type": "array", "items": _ROYALTY}}),
                    "The credits, settled (with their epoch) or accruing.",
                ),
                "401": UNAUTHENTICATED,
            },
        }
    },
    "/api/rewards/allocations/{allocation_id}": {
        "get": {
            "tags": ["rewards"],
            "operationId": "allocation_download",
            "summary": "Claim data of an epoch allocation: amount and Merkle proof (download)",
            "description": "For its account and the DAO's creators and admins; session only.",
            "security": [SESSION],
            "parameters": [path_id("allocation_id", "allocation")],
            "responses": {
                "200": {
                    **json_response(ref("Claim"), "What claim(epoch, amount, proof) needs."),
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                "404": error(
                    "not_found: no such allocation you can see (also when not signed in)."
                ),
            },
        }
    },
    "/api/rewards/vouchers/{voucher_id}": {
        "get": {
            "tags": ["rewards"],
            "operationId": "voucher_download",
            "summary": "A signed EIP-712 voucher (download)",
            "description": "For its contributor and the DAO's creators and admins; session only.",
            "security": [SESSION],
            "parameters": [path_id("voucher_id", "voucher")],
            "responses": {
                "200": {
                    **json_response(
                        ref("SignedTypedData"), "eth_signTypedData_v4 payload + signature."
                    ),
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                "404": error("not_found: no such voucher you can see (also when not signed in)."),
            },
        }
    },
}
