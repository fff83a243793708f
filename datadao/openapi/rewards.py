"""Paths of the rewards downloads (``rewards.views``): session only."""

from __future__ import annotations

from datadao.openapi.common import (
    SESSION,
    Schema,
    error,
    json_response,
    path_id,
    ref,
)

PATHS: dict[str, Schema] = {
    # --- rewards ---------------------------------------------------------------------------------
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
