"""A NUL character anywhere a view reads input is a 400 naming it, for the whole site at once.

PostgreSQL cannot take a NUL in text: without ``datadao.middleware.RefuseNulMiddleware`` a NUL
in a console filter is a 500 (and in a form field, a 500 after whatever the view wrote first).
These tests send the NUL through the real middleware stack to PostgreSQL-backed views.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from datadao.models import DAO, AuditEvent, DatasetStatus
from datadao.services import dataset_set_status
from tests.factories import DatasetFactory, MembershipFactory, UserFactory
from tests.security.test_headers import _assert_headers

pytestmark = pytest.mark.django_db


def _refused_page(response: Any, detail: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert f"<p>{detail}</p>" in response.content.decode()
    _assert_headers(response)


def _refused_json(response: Any, detail: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"error": "bad_request", "detail": detail}
    _assert_headers(response)


def _post(client: Client, url: str, form: dict[str, str], encoding: str) -> Any:
    """A form as a browser sends it: url-encoded, or multipart (what a form with a file uses
    and what anyone may send instead)."""
    if encoding == "multipart":
        return client.post(url, form)
    return client.post(url, urlencode(form), content_type="application/x-www-form-urlencoded")


ENCODINGS = pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])


def _filter_names(model_admin: admin.ModelAdmin) -> list[str]:
    names = []
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, tuple):
            names.append(entry[0])
        else:
            names.append(entry.parameter_name)
    return names


def test_every_console_filter_search_and_ordering_with_a_nul_is_a_400() -> None:
    """Attack: a NUL in any changelist parameter of any console page (a field filter such as
    /admin/datadao/auditevent/?verb__exact=a%00b reaches PostgreSQL)."""
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator, backend="django.contrib.auth.backends.ModelBackend")
    checked = set()
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for name in ("q", "o", "p", *_filter_names(model_admin)):
            response = client.get(url, {name: "a\x00b"})
            _refused_page(
                response,
                f"The query parameter &#x27;{name}&#x27; contains a NUL character (U+0000), "
                "which this site does not accept.",
            )
            checked.add((url, name))
    assert ("/admin/datadao/auditevent/", "verb__exact") in checked
    assert ("/admin/datadao/dataset/", "kind") in checked
    assert len(checked) >= 30


def test_a_nul_in_a_parameter_name_is_refused_too(client: Client) -> None:
    _refused_json(
        client.get("/api/contributions?st%00atus=pinned"),
        "A query parameter name contains a NUL character (U+0000), which this site does not "
        "accept.",
    )


@pytest.mark.parametrize("value", ["\x00", "pinned\x00"])
def test_api_query_parameters_with_a_nul_are_a_json_400(client: Client, value: str) -> None:
    _refused_json(
        client.get("/api/contributions", {"status": value}),
        "The query parameter 'status' contains a NUL character (U+0000), which this site does "
        "not accept.",
    )


@ENCODINGS
def test_a_console_form_field_with_a_nul_stores_nothing(encoding: str) -> None:
    """Attack: create a DAO from the console with a NUL in its name (a 500 at the INSERT)."""
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator, backend="django.contrib.auth.backends.ModelBackend")
    daos, events = DAO.objects.count(), AuditEvent.objects.count()
    form = {"name": "Evil\x00DAO", "slug": "evil", "token_symbol": "EVL", "chain_id": "1"}
    response = _post(client, reverse("admin:datadao_dao_add"), form, encoding)
    _refused_page(
        response,
        "The form field &#x27;name&#x27; contains a NUL character (U+0000), which this site "
        "does not accept.",
    )
    assert (DAO.objects.count(), AuditEvent.objects.count()) == (daos, events)


@ENCODINGS
def test_a_site_form_with_a_nul_stores_nothing(client_for, encoding: str) -> None:  # type: ignore[no-untyped-def]
    client = client_for(UserFactory())
    form = {"name": "x", "slug": "x", "token_symbol": "X", "chain_id": "1", "description": "a\x00b"}
    response = _post(client, "/daos/new", form, encoding)
    _refused_page(
        response,
        "The form field &#x27;description&#x27; contains a NUL character (U+0000), which this "
        "site does not accept.",
    )
    assert not DAO.objects.exists()


def test_a_json_body_with_a_nul_escape_is_refused(client: Client) -> None:
    body = json.dumps({"message": "a\x00b", "signature": "0x00"})
    assert "\\u0000" in body
    _refused_json(
        client.post("/auth/verify", body, content_type="application/json"),
        "The JSON body contains a NUL character (\\u0000), which this site does not accept.",
    )


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: Client) -> None:
    body = json.dumps({"message": "a\\u0000b", "signature": "0x00"})  # backslash, then text
    response = client.post("/auth/verify", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed"  # the view's own answer: it got through


def test_a_url_encoded_body_to_the_upload_endpoint_is_refused_cleanly(client_for) -> None:  # type: ignore[no-untyped-def]
    """The form body is read without marking the upload as processed: the upload view can
    still install its streaming handler and answer a body with no NUL itself."""
    member = UserFactory()
    dataset = dataset_set_status(dataset=DatasetFactory(), actor=None, status=DatasetStatus.OPEN)
    MembershipFactory(user=member, dao=dataset.dao)
    client = client_for(member)
    # A member uploading to an open dataset: the view gets as far as reading the body.
    url = f"/api/datasets/{dataset.pk}/contributions"
    _refused_json(
        _post(client, url, {"signature": "\x00"}, "urlencoded"),
        "The form field 'signature' contains a NUL character (U+0000), which this site does "
        "not accept.",
    )
    plain = _post(client, url, {"signature": "0x"}, "urlencoded")
    assert plain.status_code == 400
    assert plain.json() == {
        "error": "no_file",
        "detail": "Attach exactly one file in a multipart field named 'file'.",
    }


def test_a_nul_in_the_path_is_refused(client: Client) -> None:
    _refused_page(
        client.get("/daos/evil%00/"),
        "The URL path contains a NUL character (U+0000), which this site does not accept.",
    )


def test_requests_without_a_nul_pass_untouched(client: Client) -> None:
    response = client.get("/api/contributions", {"status": "pinned", "q": "100%"})
    assert response.status_code == 401  # the view's answer: the middleware let it through
    assert client.get("/admin/login/", {"next": "/admin/%2500"}).status_code == 200
