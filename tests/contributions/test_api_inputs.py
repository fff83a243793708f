"""Inputs of the contributions API that used to be 500s (found fuzzing the OpenAPI schema,
issue #9): each is now a 400 whose message names the problem, and nothing is stored."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.models import ApiToken
from contributions.tokens import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client() -> Client:
    _, token = api_token_create(user=UserFactory(), name="inputs")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # PostgreSQL refuses a NUL byte in a text comparison (DataError): refused for the
        # whole site by datadao.middleware.RefuseNulMiddleware.
        ({"status": "\x00"}, "The query parameter 'status' contains a NUL character (U+0000)"),
        ({"status": "pinned\x00"}, "The query parameter 'status' contains a NUL character"),
        ({"status": "pinned "}, "status must be one of received, validating"),
        # (page - 1) * page_size past bigint made OFFSET overflow (DataError).
        ({"page": str(10**20)}, "page must be at most 1000000000."),
        ({"page": str(10**9 + 1), "page_size": "100"}, "page must be at most 1000000000."),
    ],
)
def test_list_refuses_what_the_database_cannot_take(
    token_client: Client, query: dict[str, str], message: str
) -> None:
    response = token_client.get("/api/contributions", query)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["detail"].startswith(message)


def test_list_still_takes_every_status_and_the_last_allowed_page(token_client: Client) -> None:
    for status in ("received", "pinned", "failed"):
        assert token_client.get("/api/contributions", {"status": status}).status_code == 200
    last = token_client.get("/api/contributions", {"page": str(10**9), "page_size": "100"})
    assert last.status_code == 200 and last.json()["results"] == []


def test_token_names_with_a_nul_byte_are_refused() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/api/tokens", {"name": "ci\x00bot"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "detail": "The form field 'name' contains a NUL character (U+0000), which this site "
        "does not accept.",
    }
    assert not ApiToken.objects.filter(user=user).exists()
    assert client.post("/api/tokens", {"name": "ci bot"}).status_code == 201
