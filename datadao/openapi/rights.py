"""Paths of data rights (``rights.api``): a consumer's grants and purchases, a contributor's
read counts, and a DAO's prices, payments and signed access grants. Session only."""

from __future__ import annotations

from datadao.openapi.common import (
    ADDRESS,
    COUNT,
    CSRF_FAILED,
    DATETIME,
    INTEGER,
    JSON,
    SESSION,
    SESSION_WRITE,
    STRING,
    Schema,
    closed,
    error,
    json_response,
    nullable,
    path_id,
    query,
    ref,
)

UINT_STRING = {"type": "string", "pattern": "^[0-9]+$", "description": "A uint256, decimal."}
TX_HASH = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}
UNAUTHENTICATED_SESSION = error("unauthenticated: sign in with your wallet first.")
NO_DAO = "not_found: no DAO with that slug."
NOT_ADMIN = "not_admin: only a creator or admin of this DAO may do this."
TOO_LARGE = error("too_large: the body is over 64 KiB.")

SCHEMAS: dict[str, Schema] = {
    "AccessGrant": closed(
        {
            "id": INTEGER,
            "dao": STRING,
            "grantee": ADDRESS,
            "dataset": INTEGER,
            "dataset_name": STRING,
            "release": nullable(STRING),
            "release_version": nullable(INTEGER),
            "scope": {"type": "string", "enum": ["download", "query"]},
            "expires_at": DATETIME,
            "status": {"type": "string", "enum": ["active", "expired", "revoked"]},
            "nonce": UINT_STRING,
            "signer": ADDRESS,
            "signature": STRING,
            "purchase": nullable(INTEGER),
            "created_at": DATETIME,
            "revoked_at": nullable(DATETIME),
            "download": nullable(
                {
                    "type": "string",
                    "description": "/ipfs/<cid> of the release manifest to start from (its "
                    "contributions' CIDs open there too); null for query-only grants.",
                }
            ),
        }
    ),
    "Purchase": closed(
        {
            "id": INTEGER,
            "dataset": INTEGER,
            "consumer": ADDRESS,
            "amount": {**UINT_STRING, "description": "Price paid, token's smallest unit."},
            "payment_address": ADDRESS,
            "tx_hash": TX_HASH,
            "status": {"type": "string", "enum": ["pending", "confirmed"]},
            "created_at": DATETIME,
            "confirmed_at": nullable(DATETIME),
            "grant": nullable(INTEGER),
        }
    ),
    "Offer": closed({"dataset": INTEGER, "price": UINT_STRING, "payment_address": ADDRESS}),
    "ReadCount": closed(
        {
            "contribution": INTEGER,
            "cid": STRING,
            "dataset": STRING,
            "dao": STRING,
            "reads": COUNT,
            "readers": COUNT,
        }
    ),
    "ReleaseReadCount": closed(
        {
            "release": STRING,
            "version": INTEGER,
            "dataset": STRING,
            "dao": STRING,
            "yours": {"type": "integer", "minimum": 1},
            "reads": COUNT,
            "readers": COUNT,
        }
    ),
}


def _slug() -> Schema:
    return {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The DAO's slug.",
        "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 64},
    }


def _body(properties: dict[str, Schema], required: list[str]) -> Schema:
    return {
        "required": True,
        "content": {
            JSON: {"schema": {"type": "object", "properties": properties, "required": required}}
        },
    }


def _forbidden(text: str) -> Schema:
    return {
        "description": f"{text} Or {CSRF_FAILED['description']}",
        "content": {JSON: {"schema": ref("Error")}, **CSRF_FAILED["content"]},
    }


def _results(item: str, description: str) -> Schema:
    return json_response(closed({"results": {"type": "array", "items": ref(item)}}), description)


PATHS: dict[str, Schema] = {
    "/api/me/grants": {
        "get": {
            "tags": ["rights"],
            "operationId": "my_grants",
            "summary": "What your wallet may use: its access grants and purchases",
            "security": [SESSION],
            "responses": {
                "200": json_response(
                    closed(
                        {
                            "grants": {"type": "array", "items": ref("AccessGrant")},
                            "purchases": {"type": "array", "items": ref("Purchase")},
                        }
                    ),
                    "Grants naming your wallet (with status and download link) and your "
                    "purchases, newest first.",
                ),
                "401": UNAUTHENTICATED_SESSION,
            },
        }
    },
    "/api/me/reads": {
        "get": {
            "tags": ["rights"],
            "operationId": "my_reads",
            "summary": "How often each of your contributions was read",
            "security": [SESSION],
            "responses": {
                "200": json_response(
                    closed(
                        {
                            "results": {"type": "array", "items": ref("ReadCount")},
                            "releases": {"type": "array", "items": ref("ReleaseReadCount")},
                        }
                    ),
                    "Your contributions read at least once, most read first; and the releases "
                    "listing some of yours that were read (the 50 latest read).",
                ),
                "401": UNAUTHENTICATED_SESSION,
            },
        }
    },
    "/api/datasets/{dataset_id}/purchases": {
        "post": {
            "tags": ["rights"],
            "operationId": "purchase_create",
            "summary": "Ask for paid access with the hash of the transaction that paid",
            "description": "Pay the dataset's price to its payment address on the DAO's chain "
            "first; an admin of the DAO then confirms the payment and signs your grant. A "
            "transaction pays for one purchase only.",
            "security": [SESSION_WRITE],
            "parameters": [path_id("dataset_id", "dataset")],
            "requestBody": _body({"tx_hash": TX_HASH}, ["tx_hash"]),
            "responses": {
                "201": json_response(ref("Purchase"), "Recorded, pending confirmation."),
                "400": error("bad_request (not a JSON object) or bad_tx_hash."),
                "401": UNAUTHENTICATED_SESSION,
                "403": CSRF_FAILED,
                "404": error(
                    "not_for_sale: no such dataset, or it is public (free) or has no price."
                ),
                "409": error("tx_hash_used: this transaction already paid for a purchase."),
                "413": TOO_LARGE,
            },
        }
    },
    "/api/datasets/{dataset_id}/offer": {
        "post": {
            "tags": ["rights"],
            "operationId": "offer_set",
            "summary": "Put a members-only dataset up for sale (creators and admins)",
            "security": [SESSION_WRITE],
            "parameters": [path_id("dataset_id", "dataset")],
            "requestBody": _body(
                {
                    "price": {**UINT_STRING, "description": "In the token's smallest unit."},
                    "payment_address": {
                        "type": "string",
                        "description": "Where consumers pay; empty: the DAO's distributor.",
                    },
                },
                ["price"],
            ),
            "responses": {
                "200": json_response(ref("Offer"), "The dataset's price and payment address."),
                "400": error(
                    "bad_request, bad_price (not a whole number above 0 that fits a uint256), "
                    "bad_payment_address, public_dataset (public datasets are free) or "
                    "no_payment_address (the DAO has no distributor: name an address)."
                ),
                "401": UNAUTHENTICATED_SESSION,
                "403": _forbidden(NOT_ADMIN),
                "404": error("not_found: no dataset with that id that you manage."),
                "413": TOO_LARGE,
            },
        }
    },
    "/api/daos/{slug}/grants": {
        "get": {
            "tags": ["rights"],
            "operationId": "dao_grants",
            "summary": "The DAO's access grants (creators and admins)",
            "security": [SESSION],
            "parameters": [_slug()],
            "responses": {
                "200": _results("AccessGrant", "Newest first."),
                "401": UNAUTHENTICATED_SESSION,
                "403": error(NOT_ADMIN),
                "404": error(NO_DAO),
            },
        },
        "post": {
            "tags": ["rights"],
            "operationId": "grant_record",
            "summary": "Record an AccessGrant signed by a creator or admin of the DAO",
            "description": "The typed data of GET …/grants/draft as signed with "
            "eth_signTypedData_v4 (domain {name: datadao, version: 1, chainId: the DAO's "
            "chain}; message AccessGrant(address grantee, bytes32 daoId, bytes32 datasetId, "
            "string releaseCid, string scope, uint256 expiresAt, uint256 nonce)). The signer is "
            "recovered over the typed data rebuilt from the message; whoever submits it, the "
            "signer must be a creator or admin of this DAO. With `purchase`, the purchase must "
            "be confirmed and name the grantee and the dataset.",
            "security": [SESSION_WRITE],
            "parameters": [_slug()],
            "requestBody": _body(
                {
                    "typedData": {"type": "object"},
                    "signature": {"type": "string", "description": "0x… (65 bytes)"},
                    "purchase": {"type": "integer", "description": "A confirmed purchase."},
                },
                ["typedData", "signature"],
            ),
            "responses": {
                "201": json_response(ref("AccessGrant"), "Recorded: it works at once."),
                "400": error(
                    "bad_request, bad_typed_data, bad_signature, wrong_chain, wrong_dao, "
                    "grant_expired, unknown_dataset, unknown_release, unknown_purchase, "
                    "payment_unconfirmed or wrong_grantee."
                ),
                "401": UNAUTHENTICATED_SESSION,
                "403": _forbidden(
                    "signer_not_admin: the signature recovers to no creator or admin of "
                    "this DAO (another wallet, or tampered typed data)."
                ),
                "404": error(NO_DAO),
                "409": error(
                    "nonce_used (this DAO used the nonce, or the signature, already) or "
                    "already_granted (the purchase has its grant)."
                ),
                "413": TOO_LARGE,
            },
        },
    },
    "/api/daos/{slug}/grants/draft": {
        "get": {
            "tags": ["rights"],
            "operationId": "grant_draft",
            "summary": "The AccessGrant typed data to sign, with a fresh nonce (admins)",
            "security": [SESSION],
            "parameters": [
                _slug(),
                query("grantee", STRING, "The wallet to grant (required)."),
                query("dataset", STRING, "The id of a dataset of this DAO (required)."),
                query("release", STRING, "The CID of one release of it (empty: all)."),
                query("scope", STRING, "download (default) or query."),
                query("days", STRING, "Days until it expires (1-3650, default 30)."),
            ],
            "responses": {
                "200": json_response(
                    closed({"typedData": {"type": "object"}}), "eth_signTypedData_v4 payload."
                ),
                "400": error(
                    "bad_address, unknown_dataset, unknown_release, bad_scope or bad_days."
                ),
                "401": UNAUTHENTICATED_SESSION,
                "403": error(NOT_ADMIN),
                "404": error(NO_DAO),
            },
        }
    },
    "/api/daos/{slug}/grants/{grant_id}/revoke": {
        "post": {
            "tags": ["rights"],
            "operationId": "grant_revoke",
            "summary": "Revoke a grant: it stops working at the next request (admins)",
            "security": [SESSION_WRITE],
            "parameters": [_slug(), path_id("grant_id", "grant")],
            "responses": {
                "200": json_response(ref("AccessGrant"), "Revoked."),
                "401": UNAUTHENTICATED_SESSION,
                "403": _forbidden(NOT_ADMIN),
                "404": error(f"{NO_DAO} Or no grant of this DAO has that id."),
                "409": error("already_revoked."),
            },
        }
    },
    "/api/daos/{slug}/purchases": {
        "get": {
            "tags": ["rights"],
            "operationId": "dao_purchases",
            "summary": "Purchases of the DAO's datasets (creators and admins)",
            "security": [SESSION],
            "parameters": [_slug()],
            "responses": {
                "200": _results("Purchase", "Newest first."),
                "401": UNAUTHENTICATED_SESSION,
                "403": error(NOT_ADMIN),
                "404": error(NO_DAO),
            },
        }
    },
    "/api/daos/{slug}/purchases/{purchase_id}/confirm": {
        "post": {
            "tags": ["rights"],
            "operationId": "purchase_confirm",
            "summary": "Confirm by hand that a purchase's transaction paid (admins, audited)",
            "description": "Until a chain reader checks payments, an admin checks the "
            "transaction on chain and types its hash here; it must be the purchase's.",
            "security": [SESSION_WRITE],
            "parameters": [_slug(), path_id("purchase_id", "purchase")],
            "requestBody": _body({"tx_hash": TX_HASH}, ["tx_hash"]),
            "responses": {
                "200": json_response(ref("Purchase"), "Confirmed; sign the grant next."),
                "400": error("bad_request, bad_tx_hash or tx_hash_mismatch."),
                "401": UNAUTHENTICATED_SESSION,
                "403": _forbidden(NOT_ADMIN),
                "404": error(f"{NO_DAO} Or no purchase of this DAO has that id."),
                "409": error("not_pending: the purchase is confirmed already."),
                "413": TOO_LARGE,
            },
        }
    },
}
