"""The OpenAPI document (datadao/openapi/) against the URL map and the views' methods.

The schemathesis run (tests/security/test_schemathesis.py) checks what each described
operation answers; these tests check that nothing is left out of the description: every URL
pattern of the JSON API is a path of the document and back, and every method a view refuses
is left out of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from datadao.openapi import openapi_schema
from datadao.tokenscopes import ANY_METHOD, declared_scopes

DOCUMENT = openapi_schema(version="test")
# The JSON endpoints outside /api/: Sign-In with Ethereum. /auth/demo is left out on purpose:
# a form post answered with a redirect, and only in the local demo (DEMO_SIGN_IN).
AUTH_PATHS = {"/auth/nonce", "/auth/verify", "/auth/logout", "/auth/me"}
METHODS = ("get", "post", "put", "patch", "delete")


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern)


def _as_openapi(route: str) -> str:
    """``api/contributions/<int:contribution_id>`` → ``/api/contributions/{contribution_id}``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _example_url(path: str) -> str:
    return path.replace("{cid}", "bafkreiexample").format_map(_Ones())


class _Ones(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"


def test_every_api_url_pattern_is_described_and_nothing_else() -> None:
    api_routes = {
        _as_openapi(route)
        for route in _routes(get_resolver().url_patterns)
        if route.startswith("api/")
    }
    described = {path for path in DOCUMENT["paths"] if path.startswith("/api/")}
    assert api_routes - described == set(), "URL patterns under /api/ missing from the schema"
    assert described - api_routes == set(), "schema paths that are no URL pattern"
    assert set(DOCUMENT["paths"]) - described == AUTH_PATHS


@pytest.mark.parametrize("path", sorted(AUTH_PATHS))
def test_the_sign_in_paths_are_real_urls(path: str) -> None:
    assert resolve(path).url_name.startswith("siwe-")


def test_the_served_document_is_the_module_and_loads_in_schemathesis(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    served = response.json()
    assert served["openapi"] == "3.1.0" and served["paths"] == DOCUMENT["paths"]
    loaded = schemathesis.openapi.from_dict(served)
    operations = [result.ok() for result in loaded.get_all_operations()]
    labels = {operation.label for operation in operations}
    expected = {
        f"{method.upper()} {path}"
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in METHODS
    }
    assert labels == expected and len(labels) == 74


def test_operation_ids_are_unique_and_every_refusal_is_documented_as_json() -> None:
    ids: list[str] = []
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            ids.append(operation["operationId"])
            statuses = operation["responses"]
            assert any(code.startswith("2") for code in statuses), operation["operationId"]
            for code, response in statuses.items():
                if code.startswith("4"):
                    # Django's own HTML pages (CSRF, unparsable multipart) may come on top;
                    # a 403 of a session-only write is nothing but the CSRF page.
                    content = list(response["content"])
                    csrf_only = code == "403" and content == ["text/html"]
                    assert "application/json" in content or csrf_only, (
                        operation["operationId"],
                        code,
                    )
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_methods_left_out_of_the_schema_are_refused(client: Client, path: str) -> None:
    """The other direction for methods: what the schema omits, the view answers with 405."""
    documented = {method for method in DOCUMENT["paths"][path] if method in METHODS}
    for method in sorted(set(METHODS) - documented):
        response = getattr(client, method)(_example_url(path))
        assert response.status_code == 405, (method, path, response.status_code)


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_each_operations_token_scope_is_the_one_its_view_declares(path: str) -> None:
    """The document's token scope per operation (or none: token_not_accepted) is what
    contributions.token_auth enforces, read from the view's declaration."""
    view = resolve(_example_url(path)).func
    declared = declared_scopes(view) or {}
    for method, operation in DOCUMENT["paths"][path].items():
        if method not in METHODS:
            continue
        # SESSION_ONLY ("") for a method that takes the session only, as if undeclared.
        enforced = declared.get(method.upper(), declared.get(ANY_METHOD)) or None
        assert operation.get("x-token-scope") == enforced, (method, path, declared)
