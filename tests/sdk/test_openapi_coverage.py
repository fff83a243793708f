"""The SDK cannot drift from the platform: the OpenAPI document a live server serves is read
through the SDK itself, and every operation must be covered by a client method with the same
method and path (``datadao_client.routes.OPERATIONS``) or listed in ``NOT_COVERED`` with a
reason; every TypedDict of results must have the keys of the component it mirrors."""

from __future__ import annotations

import inspect
from typing import Any, get_args

import pytest

import datadao_client
from contributions.models import Status
from datadao_client import Client
from datadao_client.routes import NOT_COVERED, OPERATIONS
from datadao_client.types import SCHEMA_TYPES, ContributionStatus

METHODS = ("get", "post", "put", "patch", "delete")


def drift(document: dict[str, Any]) -> list[str]:
    """Every way the SDK's table and the document disagree, as sentences."""
    operations = {
        operation["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    problems = [
        f"{name} ({' '.join(where)}) has no client method and no reason in NOT_COVERED"
        for name, where in sorted(operations.items())
        if name not in OPERATIONS and name not in NOT_COVERED
    ]
    problems += [
        f"{name} is in the SDK's table but not in the platform's document"
        for name in sorted({*OPERATIONS, *NOT_COVERED} - set(operations))
    ]
    problems += [
        f"{name} is both covered and not" for name in sorted({*OPERATIONS} & {*NOT_COVERED})
    ]
    for name, route in OPERATIONS.items():
        if name in operations and (route.method, route.path) != operations[name]:
            problems.append(
                f"{name}: the SDK sends {route[:2]}, the platform has {operations[name]}"
            )
        owner = getattr(datadao_client, route.client, None)
        method = getattr(owner, route.covered_by, None)
        if method is None:
            problems.append(f"{name}: {route.client} has no method {route.covered_by}")
        elif f'"{name}"' not in inspect.getsource(method):
            problems.append(f"{name}: {route.client}.{route.covered_by} never sends it")
    problems += [f"{name}: no reason given" for name, why in NOT_COVERED.items() if not why.strip()]
    return problems


@pytest.mark.django_db(transaction=True)
def test_every_operation_of_the_served_document_is_covered_or_excused(live_server) -> None:  # type: ignore[no-untyped-def]
    document = Client(live_server.url).openapi()
    served = [op for item in document["paths"].values() for op in item if op in METHODS]
    assert len(served) == len(OPERATIONS) + len(NOT_COVERED) > 0
    assert drift(document) == []
    # What the SDK is for (issue #26): sign-in, tokens, uploads, waiting, labeling, releases,
    # rewards and claims, the lists that find their ids, and the validator API.
    assert {
        "siwe_verify",
        "api_token_create",
        "contribution_upload",
        "contribution_detail",
        "label_next",
        "label_submit",
        "release_car",
        "release_manifest",
        "my_royalties",
        "allocation_download",
        "allocation_list",
        "voucher_list",
        "release_list",
        "validator_work",
        "validator_attest",
    } <= set(OPERATIONS)


def test_an_operation_the_sdk_does_not_know_fails_the_check() -> None:
    from datadao.openapi import openapi_schema

    document = openapi_schema(version="test")
    document["paths"]["/api/things/{id}"] = {"post": {"operationId": "thing_make"}}
    moved = document["paths"].pop("/api/contributions/{contribution_id}")
    document["paths"]["/api/v2/contributions/{contribution_id}"] = moved
    problems = drift(document)
    assert (
        "thing_make (POST /api/things/{id}) has no client method and no reason in NOT_COVERED"
        in problems
    )
    assert any(p.startswith("contribution_detail: the SDK sends") for p in problems)
    assert not any(p.startswith("contribution_proof") for p in problems)


def test_every_result_type_has_the_keys_of_its_component() -> None:
    from datadao.openapi import openapi_schema

    schemas = openapi_schema(version="test")["components"]["schemas"]
    for name, typed in SCHEMA_TYPES.items():
        schema = schemas[name]
        keys = typed.__required_keys__ | typed.__optional_keys__  # type: ignore[attr-defined]
        assert keys == set(schema["properties"]), name
        assert typed.__required_keys__ == set(schema.get("required", [])), name  # type: ignore[attr-defined]
    assert set(get_args(ContributionStatus)) == set(Status.values)
