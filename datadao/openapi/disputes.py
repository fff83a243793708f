"""Paths of disputes (``disputes.api``): a DAO's challenges, one challenge, and a reviewer's
decision. Reads take the session or an API token with the read scope (members see a DAO's
challenges; anyone else those they filed or of their own work); filing and deciding take the
session only."""

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
    ref,
    token,
)

UINT_STRING = {"type": "string", "pattern": "^[0-9]+$", "description": "A uint256, decimal."}
REASONS = ["duplicate", "schema", "replay"]
STATUSES = ["bond_due", "open", "review", "upheld", "rejected", "moot"]
BOND_STATUSES = ["none", "due", "posted", "returned", "forfeited"]
READ = [token("read"), SESSION]
NOT_FOUND = "not_found: no such challenge you may see."
UNAUTHENTICATED = error("unauthenticated: sign in with your wallet first.")
BODY_REFUSALS = {
    "413": error("too_large: the body is over 16 KiB."),
    "415": error("unsupported_type: the body is not application/json."),
}

SCHEMAS: dict[str, Schema] = {
    "Challenge": closed(
        {
            "id": INTEGER,
            "dao": STRING,
            "dataset": STRING,
            "challenger": ADDRESS,
            "target": closed(
                {"type": {"type": "string", "enum": ["contribution", "item"]}, "id": INTEGER}
            ),
            "reason": {"type": "string", "enum": REASONS},
            "duplicate_of": nullable(INTEGER),
            "statement": STRING,
            "status": {"type": "string", "enum": STATUSES},
            "bond": {**UINT_STRING, "description": "The DAO's bond when filed, smallest unit."},
            "bond_status": {"type": "string", "enum": BOND_STATUSES},
            "replay": nullable(
                {
                    "type": "object",
                    "description": "What re-running the work found: outcome (upheld, "
                    "rejected, review), findings, validator_version.",
                }
            ),
            "resolution": nullable(STRING),
            "resolved_by": nullable(ADDRESS),
            "resolved_at": nullable(DATETIME),
            "withdrawn": {**UINT_STRING, "description": "Unsettled reward withdrawn."},
            "clawed_back": {**UINT_STRING, "description": "Settled reward clawed back."},
            "created_at": DATETIME,
            "url": STRING,
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


def _forbidden(text: str) -> Schema:
    return {
        "description": f"{text} Or {CSRF_FAILED['description']}",
        "content": {JSON: {"schema": ref("Error")}, **CSRF_FAILED["content"]},
    }


def _json_body(schema: Schema) -> Schema:
    return {"required": True, "content": {JSON: {"schema": schema}}}


PATHS: dict[str, Schema] = {
    "/api/daos/{slug}/challenges": {
        "get": {
            "tags": ["disputes"],
            "operationId": "challenge_list",
            "summary": "A DAO's challenges, newest first",
            "description": "Members see every challenge of the DAO; anyone else signed in, "
            "those they filed and those of their own work. At most 200.",
            "security": READ,
            "parameters": [_slug()],
            "responses": {
                "200": json_response(
                    closed(
                        {"count": COUNT, "results": {"type": "array", "items": ref("Challenge")}}
                    ),
                    "The challenges you may see.",
                ),
                "401": UNAUTHENTICATED,
                "404": error("not_found: no DAO with that slug."),
            },
        },
        "post": {
            "tags": ["disputes"],
            "operationId": "challenge_file",
            "summary": "Challenge accepted work within the DAO's challenge window",
            "description": "The target is a pinned contribution or a settled labeling item "
            "of the DAO, not your own. The DAO's challenge window runs from when it was "
            "accepted. With a bond, the challenge waits (bond_due) until an admin records it; "
            "otherwise validators replay the work at once, and what the replay cannot decide "
            "goes to the DAO's reviewers.",
            "security": [SESSION_WRITE],
            "parameters": [_slug()],
            "requestBody": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "target": {"type": "string", "enum": ["contribution", "item"]},
                        "target_id": {"type": "integer", "minimum": 1},
                        "reason": {"type": "string", "enum": REASONS},
                        "duplicate_of": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "For reason duplicate: the earlier work of the same "
                            "kind and dataset.",
                        },
                        "statement": {"type": "string", "maxLength": 2000},
                    },
                    "required": ["target", "target_id", "reason"],
                }
            ),
            "responses": {
                "201": json_response(ref("Challenge"), "The challenge, filed."),
                "400": error(
                    "bad_request: target, target_id, reason, duplicate_of or statement is "
                    "wrong (the detail names it), or not a JSON object."
                ),
                "401": UNAUTHENTICATED,
                "403": _forbidden("not_member (the DAO lets only members challenge) or own_work."),
                "404": error("not_found: no such DAO, or no such target you can see in it."),
                "409": error(
                    "window_closed (the challenge window has passed), not_challengeable (not "
                    "accepted, withdrawn or already reversed) or already_challenged (you have "
                    "an unresolved challenge of it)."
                ),
                **BODY_REFUSALS,
                "429": error(
                    "too_many_open or rate_limited: over DISPUTES_MAX_OPEN unresolved or "
                    "DISPUTES_DAILY_LIMIT a day (with Retry-After)."
                ),
            },
        },
    },
    "/api/challenges/{challenge_id}": {
        "get": {
            "tags": ["disputes"],
            "operationId": "challenge_detail",
            "summary": "A challenge: its target, replay, bond and decision",
            "security": READ,
            "parameters": [path_id("challenge_id", "challenge")],
            "responses": {
                "200": json_response(ref("Challenge"), "The challenge."),
                "401": UNAUTHENTICATED,
                "404": error(NOT_FOUND),
            },
        }
    },
    "/api/challenges/{challenge_id}/decision": {
        "post": {
            "tags": ["disputes"],
            "operationId": "challenge_decide",
            "summary": "Uphold or reject a challenge (the DAO's creator or an admin)",
            "description": "Upholding reverses the work: the contribution is rejected or the "
            "item's settlement reversed; its unsettled reward is withdrawn, a settled one "
            "clawed back from the contributor's later payments in the DAO. The challenger's "
            "bond is returned with the DAO's share of what is recovered. Rejecting forfeits "
            "the bond. Nobody decides a challenge they filed or of their own work.",
            "security": [SESSION_WRITE],
            "parameters": [path_id("challenge_id", "challenge")],
            "requestBody": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "decision": {"type": "string", "enum": ["uphold", "reject"]},
                        "note": {"type": "string", "maxLength": 2000},
                    },
                    "required": ["decision"],
                }
            ),
            "responses": {
                "200": json_response(ref("Challenge"), "The challenge, decided."),
                "400": error("bad_request: decision or note is wrong, or not a JSON object."),
                "401": UNAUTHENTICATED,
                "403": _forbidden(
                    "forbidden (not the DAO's creator or an admin) or party (you filed it, or "
                    "the work is yours)."
                ),
                "404": error(NOT_FOUND),
                "409": error("already_decided, or bond_due (record the bond first)."),
                **BODY_REFUSALS,
            },
        }
    },
}
