"""Paths of Sign-In with Ethereum (``datadao.views.auth``) and of this document."""

from __future__ import annotations

from datadao.openapi.common import (
    ANONYMOUS,
    CSRF_FAILED,
    CSRF_ONLY,
    INTEGER,
    JSON,
    SESSION,
    SESSION_WRITE,
    STRING,
    Schema,
    closed,
    error,
    json_response,
    query,
    ref,
    token,
)

PATHS: dict[str, Schema] = {
    # --- Sign-In with Ethereum -------------------------------------------------------------------
    "/auth/nonce": {
        "get": {
            "tags": ["auth"],
            "operationId": "siwe_nonce",
            "summary": "Issue a single-use sign-in nonce for one address and chain",
            "description": "Valid for 5 minutes; sets the csrftoken cookie. Returns the exact "
            "EIP-4361 message to sign. Only a message from `address` naming `chain_id` can "
            "use the nonce (otherwise POST /auth/verify answers nonce_address_mismatch or "
            "nonce_chain_mismatch).",
            "security": [ANONYMOUS],
            "parameters": [
                {
                    "name": "address",
                    "in": "query",
                    "required": True,
                    "description": "Your wallet address (0x + 40 hex).",
                    "schema": STRING,
                },
                query("chain_id", INTEGER, "One of the allowed chains (default: the first)."),
            ],
            "responses": {
                "200": json_response(ref("Nonce"), "The nonce."),
                "400": error(
                    "bad_address (missing or not an address), or wrong_chain (with chain_ids)."
                ),
            },
        }
    },
    "/auth/verify": {
        "post": {
            "tags": ["auth"],
            "operationId": "siwe_verify",
            "summary": "Verify a signed sign-in message and start a session",
            "security": [CSRF_ONLY],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": closed(
                            {
                                "message": {"type": "string", "description": "EIP-4361 text"},
                                "signature": {"type": "string", "description": "0x… (65 bytes)"},
                            }
                        )
                    }
                },
            },
            "responses": {
                "200": json_response(ref("SignedIn"), "Signed in; the session cookie is set."),
                "400": error(
                    "bad_request, or a code naming what is wrong in the message "
                    "(grammar, domain, URI, chain)."
                ),
                "401": error(
                    "bad_signature, wrong_signer, unknown_nonce, replayed_nonce, "
                    "expired_nonce, nonce_address_mismatch, nonce_chain_mismatch, expired, "
                    "stale_message ('Issued At' older than the nonce lifetime), not_yet_valid "
                    "or inactive."
                ),
                "403": CSRF_FAILED,
                "413": error("too_large: the body is over 16 KiB."),
            },
        }
    },
    "/auth/logout": {
        "post": {
            "tags": ["auth"],
            "operationId": "siwe_logout",
            "summary": "End the session",
            "security": [SESSION_WRITE, CSRF_ONLY],
            "responses": {
                "200": json_response(closed({"signed_out": {"const": True}}), "Signed out."),
                "403": CSRF_FAILED,
            },
        }
    },
    "/auth/me": {
        "get": {
            "tags": ["auth"],
            "operationId": "siwe_me",
            "summary": "Who is signed in",
            "security": [SESSION, ANONYMOUS],
            "responses": {
                "200": json_response(ref("Me"), "address and console only when signed in.")
            },
        }
    },
    # --- this document ---------------------------------------------------------------------------
    "/api/openapi.json": {
        "get": {
            "tags": ["meta"],
            "operationId": "openapi",
            "summary": "This OpenAPI document",
            "security": [ANONYMOUS, token("read")],
            "responses": {"200": json_response({"type": "object"}, "OpenAPI 3.1.")},
        }
    },
}
