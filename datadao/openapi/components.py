"""``components``: the security schemes and the response schemas, one per serializer of
the API (closed objects, so a field added to a serializer must be added here)."""

from __future__ import annotations

from copy import deepcopy

from datadao.openapi.common import (
    ADDRESS,
    BASIS_POINTS,
    BOOLEAN,
    COUNT,
    DATETIME,
    INTEGER,
    NEXT,
    STRING,
    STRINGS,
    Schema,
    closed,
    nullable,
    ref,
)
from datadao.schema import LABELING_TASKS

SECURITY_SCHEMES = {
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "dd_…",
        "description": "A per-user API token from POST /api/tokens: `Authorization: Bearer "
        "dd_…`. No cookies, so no CSRF check. Each operation that takes one names the scope it "
        "needs (upload, label or read); every other operation answers a token 403 "
        "token_not_accepted. An unknown token is 401 unauthenticated, a revoked one 401 "
        "token_revoked, an expired one 401 token_expired, one without the scope 403 "
        "insufficient_scope. Tokens expire (90 days by default, at most 365).",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "The browser session from POST /auth/verify (Sign-In with Ethereum).",
    },
    "csrfCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "csrftoken",
        "description": "Django's CSRF cookie, set by GET /auth/nonce.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "The csrftoken cookie's value; required on every session POST.",
    },
}

# --- schemas -------------------------------------------------------------------------------------

CONTRIBUTION_STATUSES = [
    "received",
    "validating",
    "rejected",
    "accepted",
    "pinning",
    "pinned",
    "failed",
    "attesting",
    "held",
]
RUN_STATUSES = ["queued", "running", "done", "failed"]

_CONTRIBUTION = closed(
    {
        "id": INTEGER,
        "dataset": INTEGER,
        "contributor": ADDRESS,
        "status": {"type": "string", "enum": CONTRIBUTION_STATUSES},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "size": COUNT,
        "media_type": STRING,
        "name": STRING,
        "signed": BOOLEAN,
        "scores": closed(
            {
                "authenticity": BASIS_POINTS,
                "ownership": BASIS_POINTS,
                "quality": BASIS_POINTS,
                "uniqueness": BASIS_POINTS,
                "score": BASIS_POINTS,
            }
        ),
        "novelty": nullable(
            closed(
                {
                    "rows": COUNT,
                    "distinct": COUNT,
                    "known": COUNT,
                    "repeats": COUNT,
                    "new": COUNT,
                    "paid_rows": COUNT,
                    "summary": STRING,
                }
            )
            | {
                "description": "A tabular file's rows: valid, distinct, already in the dataset, "
                "repeated in the file, new; it is paid for the new ones (paid_rows). "
                "Null until scored, and for other kinds of file."
            }
        ),
        "reasons": STRINGS,
        "review": nullable({"type": "string", "enum": ["pending", "confirmed", "overridden"]}),
        "cid": nullable(STRING),
        "failure": nullable(STRING),
        "created_at": DATETIME,
        "proof_url": nullable(STRING),
    }
)
_CONTRIBUTION_DETAIL = deepcopy(_CONTRIBUTION)
_CONTRIBUTION_DETAIL["properties"]["report"] = {
    "type": "object",
    "description": "The validation report (rows, columns, image facts …) once validated.",
}
_CONTRIBUTION_DETAIL["properties"]["validators"] = nullable(
    closed({"version": COUNT, "threshold": COUNT, "members": COUNT, "attested": COUNT})
    | {
        "description": "While the DAO's validator set attests it (status attesting) or after "
        "its validators could not agree (held): the set version, its threshold k, its n "
        "members and how many have attested. Null otherwise."
    }
)
_CONTRIBUTION_DETAIL["required"] += ["report", "validators"]

_RUN = closed(
    {
        "id": INTEGER,
        "method": {"type": "string", "enum": ["ds", "mv"]},
        "status": {"type": "string", "enum": RUN_STATUSES},
        "created_at": DATETIME,
        "finished_at": nullable(DATETIME),
        "metrics": {"type": "object", "description": "Agreement metrics of a finished run."},
        "error": nullable(STRING),
    }
)

_API_TOKEN = closed(
    {
        "id": INTEGER,
        "name": {"type": "string", "maxLength": 80},
        "prefix": {"type": "string", "pattern": "^dd_", "description": "Its first characters."},
        "scopes": {
            "type": "array",
            "items": {"type": "string", "enum": ["upload", "label", "read"]},
            "minItems": 1,
        },
        "created_at": DATETIME,
        "expires_at": DATETIME,
        "last_used_at": nullable({**DATETIME, "description": "To the minute."}),
        "revoked_at": nullable(DATETIME),
        "status": {"type": "string", "enum": ["active", "expired", "revoked"]},
    }
)
_API_TOKEN_CREATED = deepcopy(_API_TOKEN)
_API_TOKEN_CREATED["properties"]["token"] = {
    "type": "string",
    "pattern": "^dd_",
    "description": "The secret: shown once, never stored.",
}
_API_TOKEN_CREATED["required"].append("token")

_UINT = {"type": "string", "pattern": "^[0-9]+$", "description": "uint256, smallest unit."}
_CLAIM_STATE = {
    "type": "string",
    "enum": ["unclaimed", "pending", "paid"],
    "description": "What the chain reader saw: paid once the claim or redemption is under the "
    "chain's confirmations, pending before.",
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every refusal of the JSON API: a stable code and a message naming the "
        "problem.",
        "properties": {
            "error": STRING,
            "detail": STRING,
            "chain_ids": {
                "type": "array",
                "items": INTEGER,
                "description": "Only with wrong_chain from GET /auth/nonce: the allowed chains.",
            },
        },
        "required": ["error", "detail"],
        "additionalProperties": False,
    },
    "Nonce": closed(
        {
            "nonce": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "expires_at": DATETIME,
            "domain": STRING,
            "uri": STRING,
            "chain_ids": {"type": "array", "items": INTEGER},
            "address": ADDRESS,
            "chain_id": INTEGER,
            "message": {"type": "string", "description": "The EIP-4361 text to sign."},
        }
    ),
    "SignedIn": closed({"address": ADDRESS, "console": BOOLEAN}),
    "Me": closed(
        {"authenticated": BOOLEAN, "address": ADDRESS, "console": BOOLEAN},
        optional=("address", "console"),
    ),
    "Contribution": _CONTRIBUTION,
    "ContributionDetail": _CONTRIBUTION_DETAIL,
    "ContributionPage": closed(
        {
            "count": COUNT,
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100},
            "results": {"type": "array", "items": ref("Contribution")},
        }
    ),
    "ContributionProof": closed(
        {
            "typedData": {
                "type": "object",
                "description": "The ContributionProof as eth_signTypedData_v4 payload.",
            },
            "signature": {
                "type": "string",
                "description": "The platform's signature; empty when the DAO's validators "
                "signed (attestations).",
            },
            "signer": {"type": "string", "pattern": "^(0x[0-9a-fA-F]{40})?$"},
            "attestations": {
                "type": "array",
                "items": closed({"validator": ADDRESS, "signature": STRING}),
                "description": "Each validator's signature over its ValidatorAttestation "
                "(the proof's message with accepted = true and its own address).",
            },
            "validatorSet": closed({"version": COUNT, "threshold": COUNT}),
        },
        optional=("attestations", "validatorSet"),
    ),
    "SignedTypedData": closed(
        {
            "typedData": {
                "type": "object",
                "description": (
                    "eth_signTypedData_v4 payload; its message starts with the paying DAO's "
                    "daoId, which the distributor checks against its own."
                ),
            },
            "signature": STRING,
            "signer": ADDRESS,
        }
    ),
    "ApiToken": _API_TOKEN,
    "ApiTokenCreated": _API_TOKEN_CREATED,
    "ApiTokenPage": closed(
        {"count": COUNT, "results": {"type": "array", "items": ref("ApiToken")}}
    ),
    "Manifest": {"type": "object", "description": "The release manifest, as pinned."},
    "Progress": closed(
        {
            "done_today": COUNT,
            "done_total": COUNT,
            "gold_accuracy": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            "gold_answered": nullable(COUNT),
            "paused": BOOLEAN,
            "paused_reason": STRING,
        }
    ),
    "Hold": closed(
        {
            "hold": INTEGER,
            "expires_at": DATETIME,
            "task_type": {"type": "string", "enum": list(LABELING_TASKS)},
            "item": ref("Item"),
            "labels": STRINGS,
            "multi_choice": BOOLEAN,
            "rules": closed(
                {"overlapping": BOOLEAN, "allow_tie": BOOLEAN},
                optional=("overlapping", "allow_tie"),
            ),
            "suggestion": nullable(ref("Suggestion")),
        }
    ),
    "Suggestion": {
        **closed(
            {
                "value": ref("Answer"),
                "model_version": STRING,
                "score": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            }
        ),
        "description": "A model's pre-label for the item, to accept or correct. Always null on "
        "some holds (the dataset's suggestion_rate), so its absence says nothing about the item.",
    },
    "Item": closed(
        {
            "kind": {"type": "string", "enum": ["image", "text", "row", "pair", "audio"]},
            "image_url": STRING,
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "audio_url": STRING,
            "text": STRING,
            "row": {"type": "object"},
            "prompt": STRING,
            "left": ref("Candidate"),
            "right": ref("Candidate"),
        },
        optional=(
            "image_url",
            "width",
            "height",
            "audio_url",
            "text",
            "row",
            "prompt",
            "left",
            "right",
        ),
    ),
    "Candidate": closed({"id": STRING, "text": STRING}),
    "Box": closed(
        {
            "x": {"type": "number", "minimum": 0},
            "y": {"type": "number", "minimum": 0},
            "w": {"type": "number", "exclusiveMinimum": 0},
            "h": {"type": "number", "exclusiveMinimum": 0},
            "label": STRING,
        }
    ),
    "Span": closed(
        {
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 1},
            "label": STRING,
        }
    ),
    "Answer": {
        "description": "As the dataset's task type asks: classification, a label name (a list "
        "for multi-choice); boxes, a list of boxes in pixels (each also as `[x, y, w, h, "
        "label]`); spans, a list of character ranges, end exclusive (each also as `[start, "
        "end, label]`); pairwise, `left`, `right` or `tie`; text, the transcription.",
        "anyOf": [
            STRING,
            STRINGS,
            {"type": "array", "items": ref("Box")},
            {"type": "array", "items": ref("Span")},
        ],
    },
    "Next": closed(
        {
            "task": nullable(ref("Hold")),
            "detail": {"type": "string", "description": "Only when nothing is left."},
            "progress": ref("Progress"),
        },
        optional=("detail",),
    ),
    "Submitted": closed(
        {
            "label": closed({"hold": INTEGER, "value": ref("Answer"), "at": DATETIME}),
            "progress": ref("Progress"),
        }
    ),
    "ReviewQueue": closed(
        {
            "task_type": {"type": "string", "enum": list(LABELING_TASKS)},
            "labels": STRINGS,
            "multi_choice": BOOLEAN,
            "rules": closed(
                {"overlapping": BOOLEAN, "allow_tie": BOOLEAN},
                optional=("overlapping", "allow_tie"),
            ),
            "items": {
                "type": "array",
                "items": closed(
                    {
                        "id": INTEGER,
                        "settlement": {"type": "integer", "minimum": 1},
                        "item": ref("Item"),
                        "consensus": nullable(ref("Answer")),
                        "posterior": nullable({"type": "number", "minimum": 0, "maximum": 1}),
                        "answers": {"type": "array", "items": ref("Answer")},
                    }
                ),
            },
            "next": nullable({"type": "string", "description": "The `after` of the next page."}),
        }
    ),
    "Review": closed(
        {
            "id": INTEGER,
            "item": INTEGER,
            "settlement": COUNT,
            "decision": {"type": "string", "enum": ["accept", "fix", "reject"]},
            "answer": nullable(ref("Answer")),
            "more": nullable({"type": "integer", "minimum": 1}),
            "overturned": COUNT,
            "upheld": COUNT,
            "reviewer": ADDRESS,
            "at": DATETIME,
        }
    ),
    "ConsensusRun": _RUN,
    "ConsensusSummary": closed(
        {
            "dataset": INTEGER,
            "tasks": closed(
                {"total": COUNT, "complete": COUNT, "gold": COUNT, "open": COUNT, "labels": COUNT}
            ),
            "latest_run": nullable(ref("ConsensusRun")),
            "latest_done_run": nullable(ref("ConsensusRun")),
            # DAO admins only: how much of the gold pool is left (labeling.selectors.GoldPool).
            "gold_pool": closed(
                {"open": COUNT, "slots": COUNT, "needed": COUNT, "low": {"type": "boolean"}}
            ),
        },
        optional=("gold_pool",),
    ),
    "LabelImport": closed(
        {
            "id": INTEGER,
            "dataset": INTEGER,
            "status": {"type": "string", "enum": RUN_STATUSES},
            "file_name": STRING,
            "format": {"type": "string", "enum": ["csv", "jsonl"]},
            "kind": {"type": "string", "enum": ["items", "predictions"]},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "rows_done": COUNT,
            "rows_created": COUNT,
            "rows_failed": COUNT,
            "errors": STRINGS,
            "created_at": DATETIME,
            "finished_at": nullable(DATETIME),
        }
    ),
    "PredictionEndpointStatus": closed(
        {
            "endpoint": nullable(
                closed(
                    {
                        "url": STRING,
                        "token": BOOLEAN,
                        "batch_size": {"type": "integer", "minimum": 1, "maximum": 500},
                        "state": {
                            "type": "string",
                            "enum": ["idle", "queued", "running", "failed"],
                        },
                        "items_sent": COUNT,
                        "predictions_stored": COUNT,
                        "predictions_refused": COUNT,
                        "refusals": STRINGS,
                        "last_error": STRING,
                        "attempts": COUNT,
                        "run_started_at": nullable(DATETIME),
                        "run_finished_at": nullable(DATETIME),
                    }
                )
            ),
            "open_items_without_prediction": COUNT,
        }
    ),
    "Membership": closed(
        {
            "dao": STRING,
            "address": ADDRESS,
            "role": {"type": "string", "enum": ["creator", "admin", "reviewer", "contributor"]},
            "joined_at": DATETIME,
        }
    ),
    "JoinRequest": closed(
        {
            "id": INTEGER,
            "dao": STRING,
            "address": ADDRESS,
            "status": {"type": "string", "enum": ["pending", "approved", "declined"]},
            "created_at": DATETIME,
            "decided_at": nullable(DATETIME),
        }
    ),
    "JoinTerms": closed(
        {
            "dao": STRING,
            "joinPolicy": {"type": "string", "enum": ["open", "request", "invite"]},
            "terms": STRING,
            "termsHash": {"type": "string", "pattern": "^0x[0-9a-f]{64}$"},
            "licenses": STRING,
            "maxAgeSeconds": COUNT,
            "typedData": {
                "type": "object",
                "description": "eth_signTypedData_v4 payload: JoinTerms(address member, bytes32 "
                "daoId, bytes32 termsHash, string licenses, uint256 issuedAt).",
            },
        }
    ),
    "Claim": closed(
        {
            "dao": STRING,
            "daoId": {
                "type": "string",
                "pattern": "^0x[0-9a-f]{64}$",
                "description": "bytes32 the DAO's distributor was deployed for (its daoId()).",
            },
            "epoch": INTEGER,
            "root": STRING,
            "account": ADDRESS,
            "amount": {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "uint256 in the token's smallest unit: what claim() takes.",
            },
            "amountTokens": {
                "type": "string",
                "description": "The same amount in whole tokens, for people (e.g. 1,234.5).",
            },
            "token": closed({"symbol": STRING, "decimals": COUNT}),
            "display": {"type": "string", "description": "amountTokens and the symbol."},
            "proof": STRINGS,
            "treeIndex": COUNT,
            "chainId": INTEGER,
            "contract": {
                **ADDRESS,
                "description": "The DAO's DatadaoDistributor to call claim() on.",
            },
            "contractMissing": {
                "type": "string",
                "description": "Instead of contract, while the DAO has none configured: why.",
            },
            "dumpCid": STRING,
            "onchain": closed(
                {
                    "state": {
                        "type": "string",
                        "enum": ["unclaimed", "pending", "paid"],
                        "description": "What the chain reader saw: paid once the Claimed event "
                        "is under the chain's confirmations, pending before.",
                    },
                    "txHash": {"type": "string", "description": "The claim's transaction, or ''."},
                    "rootOnChain": {
                        "type": "boolean",
                        "description": "Whether the epoch's root is set on the contract yet.",
                    },
                }
            ),
        },
        optional=("contract", "contractMissing", "onchain"),
    ),
    "AllocationSummary": closed(
        {
            "id": {**INTEGER, "description": "What GET /api/rewards/allocations/{id} takes."},
            "dao": STRING,
            "epoch": INTEGER,
            "account": ADDRESS,
            "amount": _UINT,
            "display": STRING,
            "closedAt": nullable(DATETIME),
            "state": _CLAIM_STATE,
            "rootOnChain": BOOLEAN,
            "claimUrl": STRING,
        }
    ),
    "AllocationPage": closed(
        {"allocations": {"type": "array", "items": ref("AllocationSummary")}, "next": NEXT}
    ),
    "VoucherSummary": closed(
        {
            "id": {**INTEGER, "description": "What GET /api/rewards/vouchers/{id} takes."},
            "dao": STRING,
            "contributor": ADDRESS,
            "amount": _UINT,
            "display": STRING,
            "nonce": _UINT,
            "deadline": {**COUNT, "description": "Unix seconds the voucher is redeemable until."},
            "createdAt": DATETIME,
            "state": _CLAIM_STATE,
            "voucherUrl": STRING,
        }
    ),
    "VoucherPage": closed(
        {"vouchers": {"type": "array", "items": ref("VoucherSummary")}, "next": NEXT}
    ),
    "ReleaseSummary": closed(
        {
            "cid": {"type": "string", "description": "The manifest's CID: the release's id."},
            "version": {"type": "integer", "minimum": 1},
            "created_at": DATETIME,
            "contributions": COUNT,
            "bytes": COUNT,
            "sealed": {
                "type": "boolean",
                "description": "A members-only dataset's release: pinned encrypted.",
            },
            "proofs_cid": nullable(
                {"type": "string", "description": "A sealed release's public proof sheet."}
            ),
            "manifest_url": STRING,
            "car_url": STRING,
        }
    ),
    "ReleasePage": closed(
        {
            "dataset": INTEGER,
            "releases": {"type": "array", "items": ref("ReleaseSummary")},
            "next": NEXT,
        }
    ),
    # The validator API (datadao.openapi.validators).
    "ValidatorWorkItem": closed(
        {
            "id": INTEGER,
            "dao": closed({"slug": STRING, "dao_id": STRING, "chain_id": INTEGER}),
            "dataset": closed(
                {
                    "id": INTEGER,
                    "kind": STRING,
                    "schema": {"type": "object"},
                    "scoring": {"type": "object"},
                }
            ),
            "contributor": ADDRESS,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "size": COUNT,
            "media_type": STRING,
            "signed": BOOLEAN,
            "cid": STRING,
            "sealed": BOOLEAN,
            "uniqueness": BASIS_POINTS,
            "validator_version": nullable(INTEGER),
            "content_url": STRING,
            "ciphertext_url": nullable(STRING),
            "attestations_url": STRING,
        }
    ),
    "ValidatorWork": closed(
        {
            "validator": ADDRESS,
            "contributions": {"type": "array", "items": ref("ValidatorWorkItem")},
        }
    ),
    "ValidatorAttested": closed(
        {
            "contribution": INTEGER,
            "validator": ADDRESS,
            "outcome": {"type": "string", "enum": ["recorded", "repeated"]},
            "status": STRING,
        }
    ),
}
