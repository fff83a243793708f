"""Paths of governance (``governance.api``): a DAO's proposals, one proposal with its public
tally, and its EIP-712 signed votes. Reads take the session, an API token with the read scope,
or nothing (a proposal about a members-only dataset is its members' only); proposing and voting
take the session only."""

from __future__ import annotations

from datadao.openapi.common import (
    ADDRESS,
    ANONYMOUS,
    BOOLEAN,
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
HASH = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}
KINDS = [
    "dataset.schema",
    "dataset.status",
    "dataset.license",
    "reward.policy",
    "dao.join_policy",
    "release.publish",
    "membership.role",
    "dao.governance",
    "validators.set",
]
STATUSES = ["open", "closed", "passed", "rejected", "executed", "failed"]
MODES = ["member", "reputation", "token"]
READ = [ANONYMOUS, token("read"), SESSION]
NOT_FOUND = "not_found: no such proposal, or one about a members-only dataset you are not in."
UNAUTHENTICATED = error("unauthenticated: sign in with your wallet first.")

SCHEMAS: dict[str, Schema] = {
    "Tally": closed(
        {
            "for": UINT_STRING,
            "against": UINT_STRING,
            "abstain": UINT_STRING,
            "cast": {**UINT_STRING, "description": "The power of every vote, abstentions too."},
            "quorum": UINT_STRING,
            "votes": COUNT,
            "quorum_reached": BOOLEAN,
            "result": {
                "type": "string",
                "enum": ["passed", "rejected"],
                "description": "passed: quorum reached and more power for than against. While "
                "open: what it would be if the vote closed now.",
            },
        }
    ),
    "Proposal": closed(
        {
            "id": INTEGER,
            "dao": STRING,
            "title": STRING,
            "description": STRING,
            "kind": {"type": "string", "enum": KINDS},
            "change": {"type": "object", "description": "The exact change, as checked."},
            "proposer": ADDRESS,
            "status": {"type": "string", "enum": STATUSES},
            "quorum": UINT_STRING,
            "voting_power": {"type": "string", "enum": MODES},
            "voting_token": nullable(ADDRESS),
            "snapshot_block": nullable(INTEGER),
            "starts_at": DATETIME,
            "ends_at": DATETIME,
            "timelock_seconds": COUNT,
            "executable_at": nullable(DATETIME),
            "executed_at": nullable(DATETIME),
            "failure": nullable(STRING),
            "hash": {
                **HASH,
                "description": "keccak-256 of the document's canonical JSON: what votes name.",
            },
            "document": {"type": "object", "description": "The canonical proposal document."},
            "tally": ref("Tally"),
            "cid": nullable(
                {"type": "string", "description": "The published JSON (proposal and votes)."}
            ),
            "eip712": {
                "type": "object",
                "description": "The domain, types and primaryType (Vote) to sign a vote with.",
            },
            "url": STRING,
            "votes_url": STRING,
        }
    ),
    "Vote": closed(
        {
            "voter": ADDRESS,
            "choice": {"type": "integer", "enum": [1, 2, 3]},
            "choice_name": {"type": "string", "enum": ["for", "against", "abstain"]},
            "power": UINT_STRING,
            "timestamp": COUNT,
            "reason": STRING,
            "message": {"type": "object", "description": "The EIP-712 Vote message, as signed."},
            "signature": STRING,
            "updated_at": DATETIME,
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


BODY_REFUSALS = {
    "413": error("too_large: the body is over 64 KiB."),
    "415": error("unsupported_type: the body is not application/json."),
}

PATHS: dict[str, Schema] = {
    "/api/daos/{slug}/proposals": {
        "get": {
            "tags": ["governance"],
            "operationId": "proposal_list",
            "summary": "A DAO's proposals, newest first, each with its tally",
            "description": "Proposals about a members-only dataset are listed to its members "
            "only. At most 100.",
            "security": READ,
            "parameters": [_slug()],
            "responses": {
                "200": json_response(
                    closed(
                        {"count": COUNT, "results": {"type": "array", "items": ref("Proposal")}}
                    ),
                    "The proposals you may see.",
                ),
                "404": error("not_found: no DAO with that slug."),
            },
        },
        "post": {
            "tags": ["governance"],
            "operationId": "proposal_create",
            "summary": "Propose a change (members)",
            "description": "The change is machine-readable and checked as the console checks "
            "it (a schema by the schema validator, a licence as SPDX, ...); a fault is a 400 "
            "naming the field (`change.schema: columns[1].min: …`). The DAO's voting power "
            "mode, its snapshot (now, and for token voting the chain's latest block) and its "
            "timelock are fixed into the proposal's document.",
            "security": [SESSION_WRITE],
            "parameters": [_slug()],
            "requestBody": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "maxLength": 200},
                        "description": {"type": "string"},
                        "kind": {"type": "string", "enum": KINDS},
                        "change": {"type": "object"},
                        "voting_period_seconds": {
                            "type": "integer",
                            "minimum": 60,
                            "maximum": 2592000,
                        },
                        "quorum": {
                            "anyOf": [{"type": "integer", "minimum": 1}, UINT_STRING],
                            "description": "Voting power that must be cast (for, against and "
                            "abstain together).",
                        },
                    },
                    "required": ["title", "kind", "change", "voting_period_seconds", "quorum"],
                }
            ),
            "responses": {
                "201": json_response(ref("Proposal"), "The proposal, open for votes."),
                "400": error(
                    "bad_change (the change does not hold for its kind: the detail names the "
                    "field) or bad_request (title, description, voting_period_seconds, "
                    "quorum, or not a JSON object)."
                ),
                "401": UNAUTHENTICATED,
                "403": _forbidden("not_member: only members propose."),
                "404": error("not_found: no DAO with that slug."),
                "409": error(
                    "chain_unreadable: the DAO votes by token and its chain is not in "
                    "CHAIN_RPC_URLS, or does not answer as expected."
                ),
                **BODY_REFUSALS,
                "503": error("chain_unreadable: the chain could not be read; try again later."),
            },
        },
    },
    "/api/proposals/{proposal_id}": {
        "get": {
            "tags": ["governance"],
            "operationId": "proposal_detail",
            "summary": "A proposal: its document and hash, status and public tally",
            "description": "While open, the tally is as the votes stand; once closed, final, "
            "and `cid` names the published JSON holding the proposal and every signed vote.",
            "security": READ,
            "parameters": [path_id("proposal_id", "proposal")],
            "responses": {
                "200": json_response(ref("Proposal"), "The proposal."),
                "404": error(NOT_FOUND),
            },
        }
    },
    "/api/proposals/{proposal_id}/votes": {
        "get": {
            "tags": ["governance"],
            "operationId": "proposal_votes",
            "summary": "A proposal's votes, as signed",
            "description": "Each vote's EIP-712 message and signature (anyone can recover the "
            "signer) with its voting power; 500 a page.",
            "security": READ,
            "parameters": [
                path_id("proposal_id", "proposal"),
                {
                    "name": "page",
                    "in": "query",
                    "required": False,
                    "description": "Page number, from 1.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000000},
                },
            ],
            "responses": {
                "200": json_response(
                    closed(
                        {
                            "proposal": INTEGER,
                            "hash": HASH,
                            "count": COUNT,
                            "results": {"type": "array", "items": ref("Vote")},
                            "next": nullable(STRING),
                        }
                    ),
                    "The votes, by voter address.",
                ),
                "400": error("bad_request: page is not a page number."),
                "404": error(NOT_FOUND),
            },
        },
        "post": {
            "tags": ["governance"],
            "operationId": "proposal_vote",
            "summary": "Vote, or change your vote",
            "description": "Sign with eth_signTypedData_v4 the Snapshot-style `Vote(address "
            "from, string space, uint64 timestamp, bytes32 proposal, uint32 choice, string "
            "reason, string app, string metadata)` for the domain {name: datadao, version: 1, "
            "chainId: the DAO's chain}: space is the DAO's id (daoId), proposal the "
            "proposal's hash, choice 1 for, 2 against, 3 abstain. A later timestamp replaces "
            "your earlier vote until the period ends. 201 for a first vote, 200 for a change.",
            "security": [SESSION_WRITE],
            "parameters": [path_id("proposal_id", "proposal")],
            "requestBody": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "typedData": {"type": "object", "description": "As signed."},
                        "signature": {"type": "string", "description": "0x… (65 bytes)"},
                    },
                    "required": ["typedData", "signature"],
                }
            ),
            "responses": {
                "200": json_response(ref("Vote"), "Your vote, changed."),
                "201": json_response(ref("Vote"), "Your vote."),
                "400": error(
                    "bad_vote, bad_choice, bad_signature (malformed, or high s), wrong_domain "
                    "(another name, version or chain), wrong_dao (space), wrong_proposal "
                    "(hash), wrong_signer (not signed by `from`), issued_in_future, or "
                    "bad_request (not a JSON object)."
                ),
                "401": UNAUTHENTICATED,
                "403": _forbidden(
                    "wrong_voter (`from` is not you), not_member, or no_voting_power (none "
                    "as of the proposal's snapshot)."
                ),
                "404": error(NOT_FOUND),
                "409": error(
                    "proposal_closed (the period has ended), stale_vote (not later than your "
                    "current vote: a replay), or chain_unreadable."
                ),
                **BODY_REFUSALS,
                "503": error("chain_unreadable: the chain could not be read; try again later."),
            },
        },
    },
}
