"""Paths of the contributions API (``contributions.api``) and of the release downloads
(``contributions.release_views``)."""

from __future__ import annotations

from datadao.openapi.common import (
    ANONYMOUS,
    BAD_PAGE,
    CSRF_FAILED,
    INTEGER,
    JSON,
    PAGE_PARAMETERS,
    SESSION,
    SESSION_WRITE,
    UNAUTHENTICATED,
    Schema,
    binary,
    error,
    json_response,
    path_id,
    query,
    ref,
    token,
)
from datadao.openapi.components import CONTRIBUTION_STATUSES

CID = {
    "name": "cid",
    "in": "path",
    "required": True,
    "description": "The release manifest's CID (CIDv1 or CIDv0).",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9]+$", "maxLength": 128},
}
RELEASE_ERRORS = {
    "404": error(
        "not_found: no release with this CID that you can see (members-only "
        "releases look the same as missing ones)."
    ),
    "502": error(
        "ipfs_missing or ipfs_corrupt: stored content is missing or does not match its CID."
    ),
    "503": error("ipfs_unavailable: the IPFS backend is unreachable (with Retry-After)."),
}
TABULAR_ERRORS = {
    "404": error("not_found, or not_tabular: merged data exists only for tabular datasets."),
    "502": RELEASE_ERRORS["502"],
    "503": error(
        "data_unavailable: the stored files of some contributions are not on this "
        "server; download release.car instead."
    ),
}


TYPED_DATA: Schema = {
    "type": "object",
    "description": "An eth_signTypedData_v4 payload (types, primaryType, domain, message).",
    "required": ["types", "primaryType", "domain", "message"],
}
WITHDRAWAL_OFFER: Schema = {
    "type": "object",
    "required": ["typedData"],
    "properties": {"typedData": TYPED_DATA},
}
WITHDRAWAL_REQUEST: Schema = {
    "type": "object",
    "required": ["typedData", "signature"],
    "properties": {
        "typedData": TYPED_DATA,
        "signature": {"type": "string", "pattern": "^0x[0-9a-fA-F]+$"},
    },
}
WITHDRAWAL: Schema = {
    "type": "object",
    "required": ["id", "dataset", "contributions", "derived", "created_at"],
    "properties": {
        "id": INTEGER,
        "dataset": INTEGER,
        "contribution": {"type": ["integer", "null"], "description": "null: all of yours"},
        "contributions": {"type": "array", "items": INTEGER},
        "derived": {
            "type": "object",
            "description": "What was made from them: releases, labeling, synthetic.",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "typedData": TYPED_DATA,
        "signature": {"type": "string"},
    },
}

RELEASE_QUERY: Schema = {
    "type": "object",
    "required": ["id", "release", "sql", "state", "min_group_rows", "url"],
    "properties": {
        "id": INTEGER,
        "release": {"type": "string"},
        "sql": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "done", "refused"]},
        "min_group_rows": INTEGER,
        "result": {
            "type": ["object", "null"],
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"type": "array"}},
            },
        },
        "refusal": {"type": ["string", "null"]},
        "attestation": {"type": ["object", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "url": {"type": "string"},
    },
}

SCOPE_NAMES = {"type": "string", "enum": ["upload", "label", "read"]}
TOKEN_REQUEST = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "description": "A label (cut to 80 characters; 'token' when empty).",
        },
        "scopes": {
            "anyOf": [{"type": "array", "items": SCOPE_NAMES}, SCOPE_NAMES],
            "description": "A list (JSON, or the field repeated) or one comma-separated value.",
        },
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 365},
    },
}


PATHS: dict[str, Schema] = {
    # --- contributions ---------------------------------------------------------------------------
    "/api/datasets/{dataset_id}/contributions": {
        "post": {
            "tags": ["contributions"],
            "operationId": "contribution_upload",
            "summary": "Upload one file as a contribution",
            "description": "Streamed to disk and hashed; queued for validation. Needs a "
            "Content-Length (no chunked bodies). Nothing of the body is read before the "
            "sender is known to be a member who may upload here (session users send the CSRF "
            "token in X-CSRFToken; a csrfmiddlewaretoken form field is not read). Refused "
            "before anything is kept when over the dataset's size, not the right type by "
            "content, text that is not UTF-8, a broken or oversized image, a duplicate, over "
            "the hourly quota or over the bytes one user may have in flight.",
            "security": [token("upload"), SESSION_WRITE],
            "parameters": [path_id("dataset_id", "dataset")],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "signature": {
                                    "type": "string",
                                    "description": "Optional EIP-191 personal_sign of "
                                    "`datadao-contribution:{site}:{dataset_id}:{sha256}` "
                                    "(the file's sha256; site: this platform's host[:port] "
                                    "as sign-in messages name it).",
                                },
                            },
                            "required": ["file"],
                        }
                    }
                },
            },
            "responses": {
                "201": json_response(ref("Contribution"), "Received and queued."),
                "400": error(
                    "bad_request, no_file, bad_upload (empty file, more than one "
                    "file) or bad_signature."
                ),
                "401": UNAUTHENTICATED,
                "403": error(
                    "not_a_member, or csrf_failed: a session upload without the csrftoken "
                    "cookie echoed in X-CSRFToken."
                ),
                "404": error("not_found: no dataset with this id that you can see."),
                "409": error("dataset_not_open or duplicate (same SHA-256 in this dataset)."),
                "411": error("length_required: no Content-Length."),
                "413": error("too_large: over the dataset's max_size."),
                "415": error(
                    "unsupported_type: the content is not a type the dataset takes; not_utf8: "
                    "text that is not UTF-8 (the byte, its line and the likely encoding named)."
                ),
                "422": error(
                    "invalid_image: a truncated or broken image container, or more pixels "
                    "than the decompression-bomb guard allows."
                ),
                "429": error(
                    "quota_exceeded: over CONTRIBUTIONS_PER_HOUR; uploads_in_flight: over "
                    "UPLOAD_IN_FLIGHT_BYTES being received at once."
                ),
            },
        }
    },
    "/api/contributions": {
        "get": {
            "tags": ["contributions"],
            "operationId": "contribution_list",
            "summary": "Your contributions, newest first",
            "security": [token("read"), SESSION],
            "parameters": [
                query("dataset", INTEGER, "Only this dataset's."),
                query(
                    "status", {"type": "string", "enum": CONTRIBUTION_STATUSES}, "Only this status."
                ),
                query(
                    "page",
                    {"type": "integer", "maximum": 10**9},
                    "1-based; below 1 counts as 1 (default 1).",
                ),
                query("page_size", INTEGER, "Clamped to 1..100 (default 25)."),
            ],
            "responses": {
                "200": json_response(ref("ContributionPage"), "One page."),
                "400": error(
                    "bad_request: page, page_size or dataset is not a whole number, "
                    "page is over 10^9, or status is not a status."
                ),
                "401": UNAUTHENTICATED,
            },
        }
    },
    "/api/contributions/{contribution_id}": {
        "get": {
            "tags": ["contributions"],
            "operationId": "contribution_detail",
            "summary": "Status, scores, reasons, CID and validation report",
            "description": "Visible to its contributor and the DAO's creators and admins.",
            "security": [token("read"), SESSION],
            "parameters": [path_id("contribution_id", "contribution")],
            "responses": {
                "200": json_response(ref("ContributionDetail"), "The contribution."),
                "401": UNAUTHENTICATED,
                "404": error("not_found: no contribution with this id that you can see."),
            },
        }
    },
    "/api/contributions/{contribution_id}/proof": {
        "get": {
            "tags": ["contributions"],
            "operationId": "contribution_proof",
            "summary": "The validator's signed EIP-712 attestation (download)",
            "security": [token("read"), SESSION],
            "parameters": [path_id("contribution_id", "contribution")],
            "responses": {
                "200": {
                    **json_response(ref("ContributionProof"), "The proof, as an attachment."),
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                "401": UNAUTHENTICATED,
                "404": error(
                    "not_found (no such contribution you can see) or no_proof (not attested yet)."
                ),
            },
        }
    },
    "/api/datasets/{dataset_id}/withdrawal": {
        "get": {
            "tags": ["consent"],
            "operationId": "consent_withdrawal_offer",
            "summary": "The EIP-712 ConsentWithdrawal to sign, with a fresh nonce",
            "description": "Sign typedData with the contributor's wallet (eth_signTypedData_v4) "
            "and POST it back. It names the DAO, the dataset, you and one contribution (0: all "
            "of yours in the dataset).",
            "security": [token("read"), SESSION],
            "parameters": [
                path_id("dataset_id", "dataset"),
                query(
                    "contribution",
                    {"type": "string", "pattern": "^([0-9]+|all)$"},
                    "One of your contribution ids, or all (default).",
                ),
            ],
            "responses": {
                "200": json_response(WITHDRAWAL_OFFER, "The typed data to sign."),
                "400": error("withdrawal_refused: contribution is not an id or all."),
                "401": UNAUTHENTICATED,
                "404": error(
                    "not_found: no such dataset; nothing_to_withdraw: no such contribution of "
                    "yours in it, or none left."
                ),
                "409": error("already_withdrawn: consent for that contribution is withdrawn."),
            },
        },
        "post": {
            "tags": ["consent"],
            "operationId": "consent_withdraw",
            "summary": "Withdraw consent, signed: the data leaves every future release, query "
            "and synthetic job, and its stored copy and data key are destroyed",
            "description": "Cannot be undone. Rewards in closed epochs stay; unsettled credits "
            "of the withdrawn contributions are removed. The answer lists what was derived from "
            "them (releases, labeling items, synthetic jobs) for the DAO.",
            "security": [token("upload"), SESSION_WRITE],
            "parameters": [path_id("dataset_id", "dataset")],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": WITHDRAWAL_REQUEST}},
            },
            "responses": {
                "201": json_response(WITHDRAWAL, "The withdrawal, as recorded."),
                "400": error(
                    "withdrawal_refused: a malformed body, typed data not for this DAO, dataset, "
                    "chain and contributor, or a signature that is not yours."
                ),
                "401": UNAUTHENTICATED,
                "403": CSRF_FAILED,
                "404": error("not_found or nothing_to_withdraw, as for GET."),
                "409": error(
                    "already_withdrawn: the contribution, or this signed withdrawal (its nonce), "
                    "was already used."
                ),
            },
        },
    },
    "/api/withdrawals": {
        "get": {
            "tags": ["consent"],
            "operationId": "consent_withdrawal_list",
            "summary": "Your consent withdrawals, newest first (at most 100; count is the total)",
            "security": [token("read"), SESSION],
            "responses": {
                "200": json_response(
                    {
                        "type": "object",
                        "required": ["count", "results"],
                        "properties": {
                            "count": INTEGER,
                            "results": {"type": "array", "items": WITHDRAWAL},
                        },
                    },
                    "Your withdrawals.",
                ),
                "401": UNAUTHENTICATED,
            },
        }
    },
    "/api/releases/{cid}/queries": {
        "post": {
            "tags": ["releases"],
            "operationId": "release_query_submit",
            "summary": "Queue an aggregate SQL query over a tabular release (no download)",
            "description": "One SELECT over the table data whose every output is an aggregate "
            "(COUNT, SUM, AVG, MIN, MAX, STDDEV, MEDIAN, …) or a GROUP BY expression; no "
            "subquery, join, window, file or other table. A worker runs it; every group it "
            "returns must hold at least QUERY_MIN_GROUP_ROWS rows (5 by default) or it is "
            "refused. The result is signed by the validator key (EIP-712 QueryAttestation). "
            "Members of the release's DAO and holders of a query grant may query.",
            "security": [token("read"), SESSION_WRITE],
            "parameters": [CID],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["sql"],
                            "properties": {"sql": {"type": "string", "maxLength": 4000}},
                        }
                    }
                },
            },
            "responses": {
                "202": json_response(RELEASE_QUERY, "Queued: poll its url."),
                "400": error(
                    "query_refused: SQL that could return rows or reach outside the table, "
                    "a non-tabular release, or a malformed body."
                ),
                "401": UNAUTHENTICATED,
                "403": CSRF_FAILED,
                "404": error("not_found: no release with this CID that you may query."),
            },
        }
    },
    "/api/queries/{query_id}": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_query_detail",
            "summary": "One of your queries: its state, and its signed result or refusal",
            "security": [token("read"), SESSION],
            "parameters": [path_id("query_id", "query")],
            "responses": {
                "200": json_response(RELEASE_QUERY, "The query."),
                "401": UNAUTHENTICATED,
                "404": error("not_found: you have no query with this id."),
            },
        }
    },
    "/api/tokens": {
        "get": {
            "tags": ["tokens"],
            "operationId": "api_token_list",
            "summary": "Your API tokens, newest first (never their secrets)",
            "description": "Session only: an API token cannot list tokens. At most 100 listed; "
            "count is the total.",
            "security": [SESSION],
            "responses": {
                "200": json_response(ref("ApiTokenPage"), "Your tokens."),
                "401": error("unauthenticated: sign in with your wallet first."),
            },
        },
        "post": {
            "tags": ["tokens"],
            "operationId": "api_token_create",
            "summary": "Create an API token for scripts and the CLI (its secret shown once)",
            "description": "Session only: an API token cannot mint another. Scopes: upload "
            "(contributions, bulk labeling imports), label (labeling work, consensus runs), "
            "read (contributions, proofs, releases, labeling progress and exports). Omitted "
            "scopes give a read-only token; omitted expires_in_days gives 90 days.",
            "security": [SESSION_WRITE],
            "requestBody": {
                "required": False,
                "content": {
                    content_type: {"schema": TOKEN_REQUEST}
                    for content_type in ("application/x-www-form-urlencoded", JSON)
                },
            },
            "responses": {
                "201": json_response(
                    ref("ApiTokenCreated"), "The token; its plain value is never shown again."
                ),
                "400": error(
                    "bad_request: a NUL character in the name, an unknown or empty scope list, "
                    "expires_in_days not a whole number from 1 to 365, or a malformed body."
                ),
                "401": error("unauthenticated: sign in with your wallet first."),
                "403": CSRF_FAILED,
            },
        },
    },
    "/api/tokens/{token_id}": {
        "delete": {
            "tags": ["tokens"],
            "operationId": "api_token_revoke",
            "summary": "Revoke one of your API tokens",
            "description": "Session only. From then on the token is answered 401 token_revoked. "
            "Revoking a revoked token changes nothing (204 again).",
            "security": [SESSION_WRITE],
            "parameters": [path_id("token_id", "API token")],
            "responses": {
                "204": {"description": "Revoked."},
                "401": error("unauthenticated: sign in with your wallet first."),
                "403": CSRF_FAILED,
                "404": error("not_found: you have no API token with this id."),
            },
        }
    },
    # --- releases --------------------------------------------------------------------------------
    "/api/datasets/{dataset_id}/releases": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_list",
            "summary": "A dataset's releases, newest version first, a page at a time",
            "description": "Each with its CID, the id every release download takes. A public "
            "dataset's releases are everyone's; a members-only dataset's are its DAO's members'.",
            "security": [ANONYMOUS, token("read"), SESSION],
            "parameters": [path_id("dataset_id", "dataset"), *PAGE_PARAMETERS],
            "responses": {
                "200": json_response(
                    ref("ReleasePage"), "One page; `next` is the following one's."
                ),
                "400": error(BAD_PAGE),
                "404": error(
                    "not_found: no dataset with this id that you can see (a members-only "
                    "dataset looks the same as a missing one)."
                ),
            },
        }
    },
    "/api/releases/{cid}/manifest.json": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_manifest",
            "summary": "The pinned manifest, byte for byte, checked against its CID",
            "security": [ANONYMOUS, token("read"), SESSION],
            "parameters": [CID],
            "responses": {
                "200": {
                    **json_response(ref("Manifest"), "The manifest, as an attachment."),
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                **RELEASE_ERRORS,
            },
        }
    },
    "/api/releases/{cid}/release.car": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_car",
            "summary": "A CARv1 of the manifest and every contribution",
            "security": [ANONYMOUS, token("read"), SESSION],
            "parameters": [CID],
            "responses": {
                "200": binary("application/vnd.ipld.car", "The CAR, as an attachment."),
                **RELEASE_ERRORS,
                "501": error("not_implemented: content lives on an IPFS node; export it there."),
            },
        }
    },
    "/api/releases/{cid}/data.csv": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_csv",
            "summary": "Every row of a tabular release as one CSV",
            "security": [ANONYMOUS, token("read"), SESSION],
            "parameters": [CID],
            "responses": {
                "200": binary("text/csv", "Schema columns, then _contribution, _contributor."),
                **TABULAR_ERRORS,
            },
        }
    },
    "/api/releases/{cid}/data.parquet": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_parquet",
            "summary": "The same rows as data.csv, typed, as Parquet",
            "security": [ANONYMOUS, token("read"), SESSION],
            "parameters": [CID],
            "responses": {
                "200": binary("application/vnd.apache.parquet", "The Parquet file."),
                **TABULAR_ERRORS,
            },
        }
    },
}
