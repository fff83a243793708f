"""The validator API (``contributions.quorum.api``): what a DAO's validator, running on its own
key anywhere, calls. Every request is signed by that key (three headers, below); no session,
no API token."""

from __future__ import annotations

from datadao.openapi.common import (
    STRING,
    STRINGS,
    Schema,
    binary,
    closed,
    error,
    json_response,
    path_id,
    ref,
)

# All three together: the address, the time and the EIP-191 signature over the request.
SIGNED = {"validatorAddress": [], "validatorTimestamp": [], "validatorSignature": []}
SECURITY_SCHEMES: dict[str, Schema] = {
    "validatorAddress": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Datadao-Validator",
        "description": "The validator's address (a member of a DAO's validator set).",
    },
    "validatorTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Datadao-Timestamp",
        "description": "Unix seconds when the request was signed; refused when further than "
        "VALIDATOR_REQUEST_MAX_AGE_SECONDS (300) from the server's clock.",
    },
    "validatorSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Datadao-Signature",
        "description": "EIP-191 personal_sign by the validator's key over the lines "
        "'datadao validator request', 'host: …', 'method: …', 'path: …' (with the query), "
        "'timestamp: …', 'body-sha256: …' joined by newlines "
        "(contributions.quorum.signed_request).",
    },
}
UNSIGNED = error(
    "validator_signature: the three X-Datadao-* headers are missing, the timestamp is too far "
    "from the server's clock, or the signature does not recover to the address over this request."
)
NOT_A_VALIDATOR = "not_a_validator: the address is not in the validator set concerned."
ATTESTATION = closed(
    {
        "attestation": {
            "type": "object",
            "description": "The EIP-712 ValidatorAttestation message: daoId, datasetId, "
            "contributor, cid, contentSha256, score, quality, uniqueness, validatorVersion, "
            "accepted, validator (contributions.attestation.attestation_typed_data).",
        },
        "signature": STRING,
        "reasons": STRINGS,
    },
    optional=("reasons",),
)
PATHS: dict[str, Schema] = {
    "/api/validators/work": {
        "get": {
            "tags": ["validators"],
            "operationId": "validator_work",
            "summary": "Contributions waiting for the signing validator's attestation",
            "description": "In every DAO whose current validator set lists the address, oldest "
            "first, at most 50, each with what validating and scoring it needs.",
            "security": [SIGNED],
            "responses": {
                "200": json_response(ref("ValidatorWork"), "The work."),
                "401": UNSIGNED,
                "403": error(NOT_A_VALIDATOR),
            },
        }
    },
    "/api/validators/contributions/{contribution_id}/content": {
        "get": {
            "tags": ["validators"],
            "operationId": "validator_content",
            "summary": "A contribution's bytes as sent, for a validator of its DAO",
            "security": [SIGNED],
            "parameters": [path_id("contribution_id", "contribution")],
            "responses": {
                "200": {
                    "description": "The bytes (a sealed file decrypted).",
                    "content": binary("application/octet-stream", "")["content"],
                },
                "401": UNSIGNED,
                "403": error(NOT_A_VALIDATOR),
                "404": error("not_found: no such contribution."),
                "409": error("not_attesting: the contribution is not with its validators."),
                "410": error("gone: the file is not stored."),
            },
        }
    },
    "/api/validators/contributions/{contribution_id}/ciphertext": {
        "get": {
            "tags": ["validators"],
            "operationId": "validator_ciphertext",
            "summary": "A sealed contribution's ciphertext, the bytes pinned under its CID",
            "description": "For a validator of its DAO: it recomputes the CID from these "
            "bytes before it signs it (the work item's ciphertext_url; null for a contribution "
            "that is not sealed).",
            "security": [SIGNED],
            "parameters": [path_id("contribution_id", "contribution")],
            "responses": {
                "200": {
                    "description": "The sealed bytes as stored.",
                    "content": binary("application/octet-stream", "")["content"],
                },
                "401": UNSIGNED,
                "403": error(NOT_A_VALIDATOR),
                "404": error("not_found: no such contribution, or it is not sealed."),
                "409": error("not_attesting: the contribution is not with its validators."),
                "410": error("gone: the file is not stored."),
            },
        }
    },
    "/api/validators/contributions/{contribution_id}/attestations": {
        "post": {
            "tags": ["validators"],
            "operationId": "validator_attest",
            "summary": "Post the signing validator's attestation of a contribution",
            "description": "k attestations that agree on the verdict and every signed field "
            "accept (or reject) the contribution; when agreement can no longer be reached it is "
            "held for the DAO's review. The same attestation again answers 200.",
            "security": [SIGNED],
            "parameters": [path_id("contribution_id", "contribution")],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ATTESTATION}},
            },
            "responses": {
                "201": json_response(
                    ref("ValidatorAttested"), "Recorded; status after the quorum's decision."
                ),
                "200": json_response(
                    ref("ValidatorAttested"), "The same attestation was already recorded."
                ),
                "400": error(
                    "bad_json or bad_attestation: a field missing or malformed, a field that "
                    "is not this contribution's (DAO, dataset, contributor, SHA-256), or a "
                    "signature that does not recover to the validator."
                ),
                "401": UNSIGNED,
                "403": error(NOT_A_VALIDATOR + " Or the attestation names another validator."),
                "404": error("not_found: no such contribution."),
                "409": error(
                    "attestation_conflict: the validator attested it differently before; "
                    "not_attesting: it is not with its validators."
                ),
                "413": error("too_large: over 64 KiB."),
            },
        }
    },
}
