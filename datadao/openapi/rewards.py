"""Paths of the rewards lists and downloads (``rewards.views``): session only."""

from __future__ import annotations

from datadao.openapi.common import (
    BAD_PAGE,
    BOOLEAN,
    COUNT,
    DATETIME,
    PAGE_PARAMETERS,
    SESSION,
    STRING,
    UNAUTHENTICATED,
    Schema,
    closed,
    error,
    json_response,
    nullable,
    path_id,
    query,
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

_DAO_FILTER = query("dao", STRING, "Only this DAO's (its slug).")


def _mine(what: str, operation: str, schema: str, description: str) -> Schema:
    return {
        "get": {
            "tags": ["rewards"],
            "operationId": operation,
            "summary": f"My {what}, newest first, a page at a time",
            "description": description + " Only the signed-in person's own, whatever their "
            "role in a DAO. Session only.",
            "security": [SESSION],
            "parameters": [_DAO_FILTER, *PAGE_PARAMETERS],
            "responses": {
                "200": json_response(ref(schema), "One page; `next` is the following one's."),
                "400": error(BAD_PAGE),
                "401": UNAUTHENTICATED,
                "404": error("not_found: no DAO with the slug given as `dao`."),
            },
        }
    }


PATHS: dict[str, Schema] = {
    "/api/rewards/allocations": _mine(
        "epoch allocations",
        "allocation_list",
        "AllocationPage",
        "What each closed epoch allocated to the signed-in address, with whether it is "
        "claimed; each `id` is what the claim download takes.",
    ),
    "/api/rewards/vouchers": _mine(
        "vouchers",
        "voucher_list",
        "VoucherPage",
        "The signed vouchers made out to the signed-in address, with whether each is "
        "redeemed; each `id` is what the voucher download takes.",
    ),
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
