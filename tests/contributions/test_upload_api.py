"""Upload API: the happy path and every refusal, each leaving nothing behind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from eth_account import Account
from eth_account.messages import encode_defunct

from contributions.attestation import ownership_message
from contributions.models import Contribution, Status
from contributions.tokens import api_token_create
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from tests.contributions.conftest import good_csv
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _url(dataset) -> str:  # type: ignore[no-untyped-def]
    return f"/api/datasets/{dataset.pk}/contributions"


def _stored_files() -> list[Path]:
    root = Path(settings.DATA_DIR)
    found = []
    for folder in ("uploads", "uploads-staging"):
        if (root / folder).exists():
            found += [p for p in (root / folder).iterdir() if p.is_file()]
    return found


@pytest.fixture(autouse=True)
def _empty_upload_folders() -> None:
    for path in _stored_files():
        path.unlink()


def _post(client: Client, dataset, data: bytes, name: str = "data.csv", **extra):  # type: ignore[no-untyped-def]
    return client.post(_url(dataset), {"file": SimpleUploadedFile(name, data, "text/csv"), **extra})


def test_upload_creates_a_received_contribution(member_client: Client, tabular, member) -> None:  # type: ignore[no-untyped-def]
    response = _post(member_client, tabular, good_csv(), name="../../etc/passwd.csv")
    assert response.status_code == 201, response.content
    body = response.json()
    contribution = Contribution.objects.get(pk=body["id"])
    assert contribution.contributor == member
    assert contribution.status in (Status.RECEIVED, Status.VALIDATING)  # no worker here
    assert body["sha256"] == __import__("hashlib").sha256(good_csv()).hexdigest()
    assert contribution.original_name == "passwd.csv"  # display only
    stored = Path(settings.DATA_DIR) / "uploads" / contribution.storage_name
    assert stored.read_bytes() == good_csv()
    assert not contribution.signed


def test_signed_upload_records_ownership(member_client: Client, tabular) -> None:  # type: ignore[no-untyped-def]
    key = Account.create()
    user = UserFactory(address=key.address)
    from datadao.models import Membership, Role

    Membership.objects.create(dao=tabular.dao, user=user, role=Role.CONTRIBUTOR)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    data = good_csv(3)
    digest = __import__("hashlib").sha256(data).hexdigest()
    text = ownership_message("testserver", tabular.pk, digest)
    signature = key.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    response = _post(client, tabular, data, signature=signature)
    assert response.status_code == 201, response.content
    assert response.json()["signed"] is True

    other = Account.create().sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    response = _post(client, tabular, good_csv(4), signature=other)
    assert response.status_code == 400
    assert "not by you" in response.json()["detail"]


def test_an_ownership_signature_for_another_site_is_refused(tabular) -> None:  # type: ignore[no-untyped-def]
    # Dataset numbers repeat across platform instances: a signature the contributor made for
    # dataset N of another site (or in the text without a site) proves nothing here.
    key = Account.create()
    user = UserFactory(address=key.address)
    from datadao.models import Membership, Role

    Membership.objects.create(dao=tabular.dao, user=user, role=Role.CONTRIBUTOR)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    data = good_csv(5)
    digest = __import__("hashlib").sha256(data).hexdigest()
    expected = f"datadao-contribution:testserver:{tabular.pk}:{digest}"
    assert ownership_message("testserver", tabular.pk, digest) == expected
    for text in (
        ownership_message("datadao.example.org", tabular.pk, digest),
        f"datadao-contribution:{tabular.pk}:{digest}",
    ):
        signature = key.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        response = _post(client, tabular, data, signature=signature)
        assert response.status_code == 400, response.content
        assert response.json()["detail"].endswith(f"sign exactly the text '{expected}'.")
    assert not tabular.contributions.exists()


def test_api_token_upload(tabular, member) -> None:  # type: ignore[no-untyped-def]
    _, token = api_token_create(user=member, name="cli")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        _url(tabular),
        {"file": SimpleUploadedFile("d.csv", good_csv(), "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.content
    bad = client.post(
        _url(tabular),
        {"file": SimpleUploadedFile("d.csv", good_csv(9), "text/csv")},
        headers={"Authorization": "Bearer dd_wrong"},
    )
    assert bad.status_code == 401


def test_session_upload_needs_csrf(tabular, member) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    response = _post(client, tabular, good_csv())
    assert response.status_code == 403
    assert not Contribution.objects.exists() and not _stored_files()


@pytest.mark.parametrize(
    ("setup", "status", "code", "words"),
    [
        ("anonymous", 401, "unauthenticated", "Sign in"),
        ("stranger", 403, "not_a_member", "Only members"),
        ("closed", 409, "dataset_not_open", "not open"),
        ("too_big", 413, "too_large", "limit of 1000000 bytes"),
        ("empty", 400, "bad_upload", "empty"),
        ("no_file", 400, "no_file", "named 'file'"),
        ("two_files", 400, "bad_upload", "at most 1 file"),
        ("duplicate", 409, "duplicate", "same SHA-256"),
        ("quota", 429, "quota_exceeded", "limit is 1"),
        ("private", 404, "not_found", "no dataset"),
        ("bad_signature", 400, "bad_signature", "not a valid EIP-191"),
        ("html_as_csv", 415, "unsupported_type", "text/html"),
        ("zip", 415, "unsupported_type", "zip"),
        ("executable", 415, "unsupported_type", "ELF"),
    ],
)
def test_refusals_leave_nothing(
    setup: str, status: int, code: str, words: str, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    client, dataset, payload = (
        member_client,
        tabular,
        {"file": SimpleUploadedFile("d.csv", good_csv())},
    )
    before = 0
    if setup == "anonymous":
        client = Client()
    elif setup == "stranger":
        client = Client()
        client.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    elif setup == "closed":
        from datadao.services import dataset_set_status

        dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.CLOSED)
    elif setup == "too_big":
        payload = {"file": SimpleUploadedFile("d.csv", b"x" * 1_000_001)}
    elif setup == "empty":
        payload = {"file": SimpleUploadedFile("d.csv", b"")}
    elif setup == "no_file":
        payload = {"other": "value"}
    elif setup == "two_files":
        payload = {"file": [SimpleUploadedFile("a.csv", b"a"), SimpleUploadedFile("b.csv", b"b")]}
    elif setup == "duplicate":
        assert _post(client, dataset, good_csv()).status_code == 201
        before = 1
    elif setup == "quota":
        assert _post(client, dataset, good_csv(2)).status_code == 201
        before = 1
    elif setup == "private":
        dataset = DatasetFactory(visibility=Visibility.MEMBERS)
    elif setup == "bad_signature":
        payload["signature"] = "0x1234"
    elif setup == "html_as_csv":
        html = b"<!doctype html><html><script>alert(1)</script></html>"
        payload = {"file": SimpleUploadedFile("data.csv", html, "text/csv")}
    elif setup == "zip":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("bomb.csv", b"0" * 5_000_000)
        payload = {"file": SimpleUploadedFile("data.csv", archive.getvalue())}
    elif setup == "executable":
        payload = {"file": SimpleUploadedFile("data.csv", b"\x7fELF\x02\x01\x01" + b"\0" * 64)}
    with override_settings(CONTRIBUTIONS_PER_HOUR=1 if setup == "quota" else 1000):
        response = client.post(_url(dataset), payload)
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert words in response.json()["detail"]
    assert Contribution.objects.count() == before
    assert len(_stored_files()) == before


def test_oversized_declared_body_is_refused_before_reading(member_client: Client, tabular) -> None:  # type: ignore[no-untyped-def]
    response = member_client.generic(
        "POST",
        _url(tabular),
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50_000_000),
    )
    assert response.status_code == 413
    assert not _stored_files()


def test_list_detail_and_scoping(member_client: Client, tabular, member) -> None:  # type: ignore[no-untyped-def]
    first = _post(member_client, tabular, good_csv(1)).json()
    _post(member_client, tabular, good_csv(2))
    listing = member_client.get("/api/contributions", {"page_size": 1}).json()
    assert listing["count"] == 2 and len(listing["results"]) == 1
    detail = member_client.get(f"/api/contributions/{first['id']}")
    assert detail.status_code == 200 and detail.json()["id"] == first["id"]
    stranger = Client()
    stranger.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    assert stranger.get(f"/api/contributions/{first['id']}").status_code == 404
    assert stranger.get("/api/contributions").json()["count"] == 0
    assert member_client.get("/api/contributions", {"page": "x"}).status_code == 400
    assert member_client.get(f"/api/contributions/{first['id']}/proof").status_code == 404
    assert Contribution.objects.filter(contributor=member).count() == 2


@pytest.mark.parametrize("kind", ["tabular", "files"])
def test_latin1_text_is_refused_at_upload_naming_the_encoding(  # type: ignore[no-untyped-def]
    kind: str, dao, member_client: Client
) -> None:
    schema = (
        {"columns": [{"name": "name", "type": "string"}]}
        if kind == "tabular"
        else {"media_types": ["text/plain", "text/csv"]}
    )
    dataset = DatasetFactory(dao=dao, kind=kind, schema=schema)
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    response = _post(member_client, dataset, b"name\nJos\xe9\n")
    assert response.status_code == 415, response.content
    assert response.json() == {
        "error": "not_utf8",
        "detail": "This dataset takes UTF-8 text, but the file is not valid UTF-8: byte 0xE9 at "
        "offset 8 (line 2) cannot be decoded; that part may be Windows-1252 (Latin-1). Save "
        "the file as UTF-8 and upload it again.",
    }
    assert not Contribution.objects.exists() and _stored_files() == []


def test_cookie_upload_without_a_csrf_header_is_refused_as_json(tabular, member) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    client.get("/auth/nonce")  # sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    # The token as a form field is not read: that would mean parsing (and staging) the body.
    response = _post(client, tabular, good_csv(), csrfmiddlewaretoken=token)
    assert response.status_code == 403
    assert response.json() == {
        "error": "csrf_failed",
        "detail": "CSRF verification failed: CSRF token missing. Send the csrftoken cookie's "
        "value in the X-CSRFToken header.",
    }
    assert _stored_files() == []
    ok = client.post(
        _url(tabular),
        {"file": SimpleUploadedFile("d.csv", good_csv(), "text/csv")},
        headers={"X-CSRFToken": token},
    )
    assert ok.status_code == 201, ok.content
