"""The OpenAPI 3.1 description of the JSON API (issue #9), built as a plain dict.

Pure: no Django imports, so the document is the same for every request and can be checked in a
unit test. Served at ``GET /api/openapi.json`` (``datadao.views.openapi``) and fuzzed against
the running code by schemathesis (``tests/security/test_schemathesis.py``); a test keeps it in
step with the URL map, so an endpoint added without a description here fails the suite.

It describes what the code does, not an ideal: refusals are ``{"error", "detail"}`` JSON,
except those Django answers itself with its HTML pages: a session write without a valid CSRF
token (403), a multipart body it cannot parse for a bulk import (400), and any body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2 MiB) outside the streamed uploads (400, left out below: no
client of this API sends one). Rewards downloads take the session cookie only, not API tokens.
A NUL character in any query parameter, form field or JSON body is a 400 ``bad_request`` on
every endpoint (``datadao.middleware``), also left out of each operation below.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from datadao.openapi import auth, contributions, labeling, rewards
from datadao.openapi.components import SCHEMAS, SECURITY_SCHEMES

PATHS = {**auth.PATHS, **contributions.PATHS, **labeling.PATHS, **rewards.PATHS}


def openapi_schema(*, version: str) -> dict[str, Any]:
    """The whole document; a fresh copy each call, so callers may change it freely."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "datadao API",
            "version": version,
            "description": "Contributions, labeling, releases and rewards of a data DAO. "
            "Authenticate with the session from Sign-In with Ethereum (writes need the CSRF "
            'token) or an API token. Every refusal is a 4xx `{"error": code, "detail": '
            "message}`, never a 5xx.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": name}
            for name in ("auth", "contributions", "releases", "labeling", "rewards", "meta")
        ],
        "paths": deepcopy(PATHS),
        "components": {
            "schemas": deepcopy(SCHEMAS),
            "securitySchemes": deepcopy(SECURITY_SCHEMES),
            "headers": {
                "Attachment": {
                    "description": 'attachment; filename="…"',
                    "schema": {"type": "string", "pattern": "^attachment; filename="},
                }
            },
        },
    }
