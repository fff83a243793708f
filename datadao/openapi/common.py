"""Builders, scalar schemas, security requirements and responses shared by every part
of the OpenAPI document."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
HTML = "text/html"
Schema = dict[str, Any]

# --- small builders ------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """A closed object: every property is required unless listed in ``optional``, and unknown
    keys are schema violations, so a field added to a serializer must be described here."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def json_response(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def error(description: str) -> Schema:
    return json_response(ref("Error"), description)


def binary(media_type: str, description: str) -> Schema:
    return {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
    }


def path_id(name: str, what: str) -> Schema:
    # Django's <int:…> converter: any run of digits, so 0 and huge numbers reach the view.
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 0},
    }


def query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$", "description": "EIP-55 address"}
BASIS_POINTS = nullable({"type": "integer", "minimum": 0, "maximum": 10000})
STRINGS = {"type": "array", "items": STRING}

# Keyset pages (``datadao.paging``): ``after`` is the previous page's ``next``, opaque.
PAGE_PARAMETERS = [
    query("after", STRING, "The `next` cursor of the previous page (opaque); none: the first."),
    query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
        "Rows per page, 1 to 100 (default 50); anything else is refused, not clamped.",
    ),
]
NEXT = nullable(
    {"type": "string", "description": "The `after` of the following page; null on the last."}
)
BAD_PAGE = (
    "bad_page: `after` is not the `next` cursor of a page of this list, or `limit` is not a "
    "whole number from 1 to 100."
)

# --- security ------------------------------------------------------------------------------------


def token(scope: str) -> dict[str, list[str]]:
    """An API token with ``scope`` (upload, label or read), the one the view declares."""
    return {"apiToken": [scope]}


SESSION = {"session": []}
# Django's CSRF check: the csrftoken cookie (set by GET /auth/nonce) echoed in X-CSRFToken.
SESSION_WRITE = {"session": [], "csrfCookie": [], "csrfHeader": []}
CSRF_ONLY = {"csrfCookie": [], "csrfHeader": []}
ANONYMOUS: dict[str, list[str]] = {}

CSRF_FAILED = {
    "description": "CSRF verification failed (Django's HTML page): a session POST without the "
    "csrftoken cookie echoed in X-CSRFToken.",
    "content": {HTML: {"schema": STRING}},
}
UNAUTHENTICATED = error(
    "unauthenticated: no session and no API token, or an unknown API token (or one of a "
    "deactivated account); token_revoked or token_expired: the token was revoked or has expired."
)
# Added to every operation by datadao.openapi.token_refusals, from its security requirements.
INSUFFICIENT_SCOPE = "insufficient_scope: the API token lacks the scope this operation needs."
TOKEN_NOT_ACCEPTED = (
    "token_not_accepted: an API token was sent; this operation takes the session only."
)
