"""Paths of the contributions API (``contributions.api``) and of the release downloads
(``contributions.release_views``)."""

from __future__ import annotations

from datadao.openapi.common import (
    ANONYMOUS,
    CSRF_FAILED,
    INTEGER,
    JSON,
    SESSION,
    SESSION_WRITE,
    TOKEN,
    UNAUTHENTICATED,
    Schema,
    binary,
    error,
    json_response,
    path_id,
    query,
    ref,
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


PATHS: dict[str, Schema] = {
    # --- contributions ---------------------------------------------------------------------------
    "/api/datasets/{dataset_id}/contributions": {
        "post": {
            "tags": ["contributions"],
            "operationId": "contribution_upload",
            "summary": "Upload one file as a contribution",
            "description": "Streamed to disk and hashed; queued for validation. Needs a "
            "Content-Length (no chunked bodies). Refused before anything is kept when over the "
            "dataset's size, not the right type by content, a duplicate or over the quota.",
            "security": [TOKEN, SESSION_WRITE],
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
                "403": {
                    "description": "not_a_member, or CSRF verification failed (HTML) for a "
                    "session without a CSRF token.",
                    "content": {JSON: {"schema": ref("Error")}, **CSRF_FAILED["content"]},
                },
                "404": error("not_found: no dataset with this id that you can see."),
                "409": error("dataset_not_open or duplicate (same SHA-256 in this dataset)."),
                "411": error("length_required: no Content-Length."),
                "413": error("too_large: over the dataset's max_size."),
                "415": error("unsupported_type: the content is not a type the dataset takes."),
                "429": error("quota_exceeded: over CONTRIBUTIONS_PER_HOUR."),
            },
        }
    },
    "/api/contributions": {
        "get": {
            "tags": ["contributions"],
            "operationId": "contribution_list",
            "summary": "Your contributions, newest first",
            "security": [TOKEN, SESSION],
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
            "security": [TOKEN, SESSION],
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
            "security": [TOKEN, SESSION],
            "parameters": [path_id("contribution_id", "contribution")],
            "responses": {
                "200": {
                    **json_response(ref("SignedTypedData"), "The proof, as an attachment."),
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                "401": UNAUTHENTICATED,
                "404": error(
                    "not_found (no such contribution you can see) or no_proof (not attested yet)."
                ),
            },
        }
    },
    "/api/tokens": {
        "post": {
            "tags": ["contributions"],
            "operationId": "api_token_create",
            "summary": "Create an API token for scripts and the CLI (shown once)",
            "description": "Session only: an API token cannot mint another.",
            "security": [SESSION_WRITE],
            "requestBody": {
                "required": False,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "name": {
                                    "type": "string",
                                    "description": "A label (cut to 80 characters; 'cli' when "
                                    "empty).",
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": json_response(
                    ref("ApiToken"), "The token; its plain value is never shown again."
                ),
                "400": error("bad_request: the name contains a NUL character."),
                "401": error("unauthenticated: sign in with your wallet first."),
                "403": CSRF_FAILED,
            },
        }
    },
    # --- releases --------------------------------------------------------------------------------
    "/api/releases/{cid}/manifest.json": {
        "get": {
            "tags": ["releases"],
            "operationId": "release_manifest",
            "summary": "The pinned manifest, byte for byte, checked against its CID",
            "security": [ANONYMOUS, TOKEN, SESSION],
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
            "security": [ANONYMOUS, TOKEN, SESSION],
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
            "security": [ANONYMOUS, TOKEN, SESSION],
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
            "security": [ANONYMOUS, TOKEN, SESSION],
            "parameters": [CID],
            "responses": {
                "200": binary("application/vnd.apache.parquet", "The Parquet file."),
                **TABULAR_ERRORS,
            },
        }
    },
}
