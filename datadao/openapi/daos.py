"""Paths of joining and leaving a DAO (``datadao.views.join``): session only."""

from __future__ import annotations

from datadao.openapi.common import (
    ANONYMOUS,
    CSRF_FAILED,
    JSON,
    SESSION,
    SESSION_WRITE,
    STRING,
    Schema,
    error,
    json_response,
    ref,
    token,
)


def _slug() -> Schema:
    return {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The DAO's slug.",
        "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 64},
    }


NO_DAO = "not_found: no DAO with that slug."
UNAUTHENTICATED_SESSION = error("unauthenticated: sign in with your wallet first.")

PATHS: dict[str, Schema] = {
    "/api/me/export.zip": {
        "get": {
            "tags": ["consent"],
            "operationId": "personal_export",
            "summary": "Everything the platform holds about you, as one ZIP",
            "description": "Streamed as it is written, never stored: your profile, memberships "
            "and signed join terms, the audit log of your actions, every contribution with its "
            "scores, proof and file as sent (decrypted), consent withdrawals and queries, every "
            "label you gave, your reward credits, allocations and vouchers, and the grants over "
            "your data with its read log. README.txt inside lists the parts.",
            "security": [token("read"), SESSION],
            "responses": {
                "200": {
                    "description": "The archive, as an attachment.",
                    "content": {"application/zip": {"schema": {"type": "string"}}},
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                },
                "401": error("unauthenticated: sign in, or send an API token."),
            },
        }
    },
    "/api/daos/{slug}/terms": {
        "get": {
            "tags": ["daos"],
            "operationId": "dao_terms",
            "summary": "The terms to sign to join a DAO, as EIP-712 typed data",
            "description": "The DAO's join policy, contribution terms (and their sha256) and the "
            "licences of its open datasets, with the `JoinTerms` typed data `address` signs "
            "with eth_signTypedData_v4 (domain {name: datadao, version: 1, chainId: the DAO's "
            "chain}); issuedAt is now, and the signature is accepted for 10 minutes. Sets the "
            "csrftoken cookie.",
            "security": [ANONYMOUS, SESSION],
            "parameters": [
                _slug(),
                {
                    "name": "address",
                    "in": "query",
                    "required": True,
                    "description": "The wallet that will sign (0x + 40 hex).",
                    "schema": STRING,
                },
            ],
            "responses": {
                "200": json_response(ref("JoinTerms"), "What to sign."),
                "400": error("bad_address: address is missing or not an address."),
                "404": error(NO_DAO),
            },
        }
    },
    "/api/daos/{slug}/join": {
        "post": {
            "tags": ["daos"],
            "operationId": "dao_join",
            "summary": "Join a DAO with your signed acceptance of its terms",
            "description": "With a valid invite link's token, or under the open policy: 201 "
            "and the membership (role contributor). Under the request policy: 202 and the "
            "pending request, which a creator or admin approves or declines in the console.",
            "security": [SESSION_WRITE],
            "parameters": [_slug()],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "typedData": {
                                    "type": "object",
                                    "description": "The typed data of GET …/terms, as signed.",
                                },
                                "signature": {"type": "string", "description": "0x… (65 bytes)"},
                                "invite": {
                                    "type": "string",
                                    "description": "The token of an invite link (its last "
                                    "path segment).",
                                },
                            },
                            "required": ["typedData", "signature"],
                        }
                    }
                },
            },
            "responses": {
                "201": json_response(ref("Membership"), "You are a member."),
                "202": json_response(ref("JoinRequest"), "Your request waits for a decision."),
                "400": error(
                    "bad_request (not the JSON object described), or what is wrong with the "
                    "signed terms: bad_typed_data, bad_signature, wrong_signer (signed by "
                    "another address), wrong_member, wrong_chain, wrong_dao, terms_changed, "
                    "licenses_changed, stale_terms (issuedAt older than 10 minutes) or "
                    "issued_in_future."
                ),
                "401": UNAUTHENTICATED_SESSION,
                "403": {
                    "description": "invite_required: this DAO admits members by invite link "
                    f"only. Or {CSRF_FAILED['description']}",
                    "content": {JSON: {"schema": ref("Error")}, **CSRF_FAILED["content"]},
                },
                "404": error(f"{NO_DAO} Or invite_unknown: no such invite link for this DAO."),
                "409": error(
                    "already_member, request_pending (one pending request per DAO), "
                    "request_declined (ask again 7 days after a decline) or replayed_signature."
                ),
                "410": error("invite_revoked, invite_expired or invite_used_up."),
                "413": error("too_large: the body is over 16 KiB."),
            },
        }
    },
    "/api/daos/{slug}/leave": {
        "post": {
            "tags": ["daos"],
            "operationId": "dao_leave",
            "summary": "Leave a DAO",
            "security": [SESSION_WRITE],
            "parameters": [_slug()],
            "responses": {
                "204": {"description": "You are no longer a member."},
                "401": UNAUTHENTICATED_SESSION,
                "403": CSRF_FAILED,
                "404": error(NO_DAO),
                "409": error(
                    "not_member, or last_creator: the last creator cannot leave (make another "
                    "member creator first)."
                ),
            },
        }
    },
}
