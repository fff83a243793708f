"""The bad-input corpus (tests/corpus/) against the real upload API, SIWE endpoints and pages.

Each entry gets a 4xx whose message names the problem, or, where the content passes the
bounded sniff at upload (content validation is asynchronous by design, README "Contributing
data"), a 201 and then a rejection reason from ``validate_file`` (the worker's verdict).
Never a 500, never a hang, and a refused upload leaves no row and no file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from eth_account import Account
from eth_account.messages import encode_defunct

from contributions.models import Contribution
from contributions.validation import check_zip, validate_file
from datadao.models import DatasetStatus, Membership, Role, SiweNonce, User
from datadao.services import dataset_set_status
from datadao.siwe import SiweError, parse_message
from tests.contributions.conftest import (  # noqa: F401 - fixtures
    CSV_SCHEMA,
    IMAGE_SCHEMA,
    dao,
    images,
    member,
    member_client,
    tabular,
)
from tests.corpus import make
from tests.factories import DAOFactory, DatasetFactory, UserFactory

EXPECTED = json.loads((Path(make.__file__).parent / "expected.json").read_text())
UPLOADS = EXPECTED["upload"]
SIWE = EXPECTED["siwe"]
BIG_SCHEMA = CSV_SCHEMA | {"max_size": 200 * 1024 * 1024}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture
def tabular_big(dao):  # type: ignore[no-untyped-def]  # noqa: F811
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=BIG_SCHEMA)
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _stored_files() -> list[Path]:
    root = Path(settings.DATA_DIR)
    return [
        path
        for folder in ("uploads", "uploads-staging")
        if (root / folder).exists()
        for path in (root / folder).iterdir()
        if path.is_file()
    ]


# --- a streamed multipart body: never the whole file in memory -----------------------------------


class _Chain:
    """A file-like body made of byte strings and files, read in order."""

    def __init__(self, parts: list[bytes | Path]) -> None:
        self._parts = iter(parts)
        self._current: Any = None

    def _next(self) -> bool:
        part = next(self._parts, None)
        if part is None:
            return False
        if self._current is not None:
            self._current.close()
        self._current = part.open("rb") if isinstance(part, Path) else _Bytes(part)
        return True

    def read(self, size: int = -1) -> bytes:
        out = b""
        while size < 0 or len(out) < size:
            if self._current is None and not self._next():
                break
            data = self._current.read(-1 if size < 0 else size - len(out))
            if not data:
                self._current.close()
                self._current = None
                continue
            out += data
        return out

    def readline(self, size: int = -1) -> bytes:  # Django only reads lines of form bodies
        return self.read(size)


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, size: int) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk, self._pos = self._data[self._pos : end], min(end, len(self._data))
        return chunk

    def close(self) -> None:
        return None


def _multipart(
    file: Path, name: str, *, copies: int = 1, fields: int = 0
) -> tuple[list[bytes | Path], int, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes | Path] = []
    for _ in range(copies):
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts += [head.encode("utf-8", "surrogatepass"), file, b"\r\n"]
    for i in range(fields):
        field = f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
        parts.append(field.encode())
    parts.append(f"--{boundary}--\r\n".encode())
    size = sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in parts)
    return parts, size, f"multipart/form-data; boundary={boundary}"


def _post_streamed(client: Client, dataset_id: int, case: dict[str, Any], file: Path):  # type: ignore[no-untyped-def]
    parts, size, content_type = _multipart(
        file,
        case.get("name", file.name),
        copies=case.get("copies", 1),
        fields=case.get("fields", 0),
    )
    length = case.get("length", "honest")
    extra: dict[str, Any] = {"CONTENT_TYPE": content_type, "wsgi.input": _Chain(parts)}
    if length == "honest":
        extra["CONTENT_LENGTH"] = str(size)
    elif length != "missing":
        extra["CONTENT_LENGTH"] = str(length)
    return client.generic("POST", f"/api/datasets/{dataset_id}/contributions", **extra)


# --- the corpus itself ---------------------------------------------------------------------------


def test_kept_files_are_what_make_builds_and_small() -> None:
    kept = {path.name for path in make.FILES.iterdir()}
    assert kept == set(make.SMALL)
    for name, build in make.SMALL.items():
        data = (make.FILES / name).read_bytes()
        assert data == build(), f"{name} is stale: run python -m tests.corpus.make"
        assert len(data) <= make.MAX_KEPT_BYTES


def test_every_entry_names_a_corpus_file() -> None:
    known = set(make.SMALL) | set(make.BIG)
    assert {case["file"] for case in UPLOADS.values()} <= known


@pytest.mark.parametrize("entry", sorted(UPLOADS))
def test_upload(
    entry: str,
    request: pytest.FixtureRequest,
    member_client: Client,  # noqa: F811 - the fixture imported above
    big_folder: Path,
) -> None:
    case = UPLOADS[entry]
    file = make.corpus_path(case["file"], big_folder)
    dataset = request.getfixturevalue(case["dataset"])
    schema = {"tabular": CSV_SCHEMA, "tabular_big": BIG_SCHEMA, "images": IMAGE_SCHEMA}
    if "zip" in case:
        assert any(case["zip"] in problem for problem in check_zip(file)), check_zip(file)
    if "rejected" in case:
        # The worker's verdict, computed here directly: refused with a reason naming the fault.
        kind = "files" if case["dataset"] == "images" else "tabular"
        result = validate_file(file, kind=kind, schema=schema[case["dataset"]])
        assert not result.accepted
        assert any(case["rejected"] in reason for reason in result.reasons), result.reasons
    if case.get("validate_only"):
        return
    rows_before, files_before = Contribution.objects.count(), len(_stored_files())
    response = _post_streamed(member_client, dataset.pk, case, file)
    assert response.status_code == case["status"], response.content[:500]
    body = response.json()
    if case["status"] == 201:
        contribution = Contribution.objects.get(pk=body["id"])
        assert contribution.size == file.stat().st_size
        if "shown" in case:
            assert contribution.original_name == case["shown"]
        # Kept under a random name inside the upload folder, whatever the client called it.
        stored = Path(settings.DATA_DIR) / "uploads" / contribution.storage_name
        assert stored.is_file() and stored.parent.name == "uploads"
        assert Contribution.objects.count() == rows_before + 1
        return
    assert body["error"] == case["error"], body
    assert case["detail"] in body["detail"], body
    assert Contribution.objects.count() == rows_before
    assert len(_stored_files()) == files_before


# --- SIWE ----------------------------------------------------------------------------------------


def _message(client: Client, account: Any) -> str:
    response = client.get("/auth/nonce", {"address": account.address, "chain_id": 1})
    assert response.status_code == 200, response.content
    return response.json()["message"]


def _hostile_message(case: dict[str, Any], base: str) -> str:
    parsed = parse_message(base)
    kind = case["case"]
    if kind == "resources":
        resources = tuple(f"https://testserver/r/{i}" for i in range(case["count"]))
        return replace(parsed, resources=resources).to_text()
    if kind == "crlf":
        return base.replace("\n", "\r\n")
    if kind == "crlf_statement":
        return replace(parsed, statement="Sign in\r\nURI: https://evil.example/").to_text()
    if kind == "domain":
        return replace(parsed, domain=case["domain"]).to_text()
    if kind == "uri":
        return replace(parsed, uri=case["uri"]).to_text()
    raise AssertionError(kind)


@pytest.mark.parametrize("entry", sorted(SIWE))
def test_siwe(entry: str) -> None:
    case = SIWE[entry]
    client = Client()
    account = Account.create()
    users, sessions = User.objects.count(), Session.objects.count()
    if case["case"] == "crlf_nonce":
        response = client.get(
            "/auth/nonce", {"address": f"{account.address}\r\nSet-Cookie: x=1", "chain_id": 1}
        )
        assert "x=1" not in str(response.cookies)
    else:
        text = _hostile_message(case, _message(client, account))
        if "parse" in case:
            with pytest.raises(SiweError, match=case["parse"]):
                parse_message(text)
        signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        response = client.post(
            "/auth/verify",
            data=json.dumps({"message": text, "signature": signature}),
            content_type="application/json",
        )
    assert response.status_code == case["status"], response.content[:300]
    assert response.json()["error"] == case["error"]
    assert case["detail"] in response.json()["detail"]
    # Nothing kept: no user, no session, and the nonce is not burnt by a refused message.
    assert User.objects.count() == users and Session.objects.count() == sessions
    assert not SiweNonce.objects.filter(consumed_at__isnull=False).exists()
    assert "_auth_user_id" not in client.session


# --- hostile names on pages ----------------------------------------------------------------------


def _raw_markup(case: dict[str, Any]) -> Iterator[str]:
    yield case["dao"]
    yield case["dataset"]
    yield from (label for label in case["labels"] if "<" in label)


def test_hostile_names_are_escaped_on_every_page() -> None:
    case = EXPECTED["pages"]["hostile-names"]
    creator = UserFactory()
    hostile_dao = DAOFactory(name=case["dao"], slug="hostile", creator=creator)
    tabular_set = DatasetFactory(
        dao=hostile_dao, name=case["dataset"], slug="hostile-set", description=case["description"]
    )
    labeling_set = DatasetFactory(
        dao=hostile_dao,
        name=case["dataset"] + " labels",
        slug="hostile-labels",
        kind="labeling",
        schema={"labels": case["labels"]},
    )
    for dataset in (tabular_set, labeling_set):
        dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    Membership.objects.get_or_create(dao=hostile_dao, user=creator, defaults={"role": Role.CREATOR})
    client = Client()
    client.force_login(creator, backend="django.contrib.auth.backends.ModelBackend")
    pages = [
        "/",
        "/daos/hostile/",
        "/daos/hostile/hostile-set/",
        "/daos/hostile/hostile-labels/",
        "/daos/hostile/hostile-labels/label",
        "/admin/",
        "/admin/datadao/dataset/",
        f"/admin/datadao/dataset/{tabular_set.pk}/change/",
        f"/admin/dashboard/{hostile_dao.slug}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        for markup in _raw_markup(case):
            assert markup not in html, (url, markup)
        assert "&lt;script&gt;" in html or "&lt;img" in html or url == "/admin/", url
