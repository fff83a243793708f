"""The OpenAPI 3.1 description of the JSON API, built as a plain dict.

Pure: no Django imports, so the document is the same for every request and can be checked in a
unit test. Served at ``GET /api/openapi.json`` (``datadao.views.openapi``) and fuzzed against
the running code by schemathesis (``tests/security/test_schemathesis.py``); a test keeps it in
step with the URL map, so an endpoint added without a description here fails the suite.

It describes what the code does, not an ideal: refusals are ``{"error", "detail"}`` JSON,
except those Django answers itself with its HTML pages: a session write without a valid CSRF
token (403), a multipart body it cannot parse for a bulk import (400), and any body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2 MiB) outside the streamed uploads (400, left out below: no
client of this API sends one). Rewards downloads and token management take the session
cookie only, not API tokens. A NUL character in any query parameter, form field or JSON body is
a 400 ``bad_request`` on every endpoint (``datadao.middleware``), also left out of each
operation below.

The refusals of API tokens are the same everywhere (``contributions.token_auth`` answers them
before any view runs), so ``token_refusals`` adds them to each operation from its security
requirements: where a token scope is listed, 401 (unknown, revoked, expired) and 403
insufficient_scope; elsewhere 403 token_not_accepted.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from datadao.openapi import (
    auth,
    contributions,
    daos,
    disputes,
    governance,
    labeling,
    rewards,
    rights,
    validators,
)
from datadao.openapi.common import (
    INSUFFICIENT_SCOPE,
    JSON,
    TOKEN_NOT_ACCEPTED,
    UNAUTHENTICATED,
    Schema,
    error,
    ref,
)
from datadao.openapi.components import SCHEMAS, SECURITY_SCHEMES

METHODS = ("get", "post", "put", "patch", "delete")


def _with_403(responses: dict[str, Schema], text: str) -> None:
    existing = responses.get("403")
    if existing is None:
        responses["403"] = error(text)
        return
    responses["403"] = {
        "description": f"{existing['description']} Or {text}",
        "content": {JSON: {"schema": ref("Error")}, **existing.get("content", {})},
    }


def token_refusals(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Add the API-token refusals to every operation, from its security requirements."""
    for item in paths.values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            scopes = [s["apiToken"] for s in operation["security"] if "apiToken" in s]
            responses = operation["responses"]
            if scopes:
                operation["x-token-scope"] = scopes[0][0]
                responses["401"] = UNAUTHENTICATED
                _with_403(responses, INSUFFICIENT_SCOPE)
            else:
                _with_403(responses, TOKEN_NOT_ACCEPTED)
    return paths


PATHS = token_refusals(
    {
        **auth.PATHS,
        **contributions.PATHS,
        **daos.PATHS,
        **labeling.PATHS,
        **rewards.PATHS,
        **rights.PATHS,
        **governance.PATHS,
        **disputes.PATHS,
        **validators.PATHS,
    }
)


def openapi_schema(*, version: str) -> dict[str, Any]:
    """The whole document; a fresh copy each call, so callers may change it freely."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "datadao API",
            "version": version,
            "description": "Contributions, labeling, releases, rewards, data rights, "
            "governance and disputes of a data DAO. "
            "Authenticate with the session from Sign-In with Ethereum (writes need the CSRF "
            'token) or an API token. Every refusal is a 4xx `{"error": code, "detail": '
            "message}`, never a 5xx.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": name}
            for name in (
                "auth",
                "daos",
                "contributions",
                "consent",
                "tokens",
                "releases",
                "labeling",
                "rewards",
                "rights",
                "governance",
                "disputes",
                "validators",
                "meta",
            )
        ],
        "paths": deepcopy(PATHS),
        "components": {
            "schemas": deepcopy(
                {**SCHEMAS, **rights.SCHEMAS, **governance.SCHEMAS, **disputes.SCHEMAS}
            ),
            "securitySchemes": deepcopy({**SECURITY_SCHEMES, **validators.SECURITY_SCHEMES}),
            "headers": {
                "Attachment": {
                    "description": 'attachment; filename="…"',
                    "schema": {"type": "string", "pattern": "^attachment; filename="},
                }
            },
        },
    }
