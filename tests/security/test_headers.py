"""Security headers (issue #9): clickjacking, sniffing, referrer, and a CSP with no inline script.

The policy is only worth something if the pages obey it, so besides the headers this checks
every template and every rendered page (the site and each console model's list and add pages)
for inline ``<script>`` blocks and ``on*=`` handlers. ``check --deploy`` with production
settings is tested in tests/datadao/test_settings.py.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import reverse

from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from ipfs.services import content_add
from tests.corpus import make
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

ROOT = Path(settings.BASE_DIR)
APPS = ("datadao", "contributions", "labeling", "rewards", "synthetic", "ipfs")
# Script types a browser never runs: data blocks such as json_script's output.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def _assert_headers(response) -> None:  # type: ignore[no-untyped-def]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = _policy(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    for directive in ("script-src", "default-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(policy[directive])


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/admin/login/",
        "/auth/nonce?address=0x3e951FC6f4dda55c993B1B3C79aE16Cf134D5164",
        "/api/contributions",
        "/no-such-page",
    ],
)
def test_every_kind_of_response_carries_the_headers(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (200, 401, 404), (url, response.status_code)
    _assert_headers(response)


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, handlers,
    javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        script_type = (values.get("type") or "").lower()
        if tag == "script" and not values.get("src") and script_type not in DATA_SCRIPT_TYPES:
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…> handler at line {self.getpos()[0]}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:…> at line {self.getpos()[0]}")


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


TEMPLATES = sorted(
    path
    for app in APPS
    for path in (ROOT / app / "templates").rglob("*.html")
    if (ROOT / app / "templates").exists()
)


def test_templates_were_found() -> None:
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_holds_inline_script(template: Path) -> None:
    text = template.read_text()
    # Template tags can hide attribute syntax from the HTML parser; a plain scan backs it up.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    assert _inline_code(text) == []


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    creator = UserFactory()
    dao = DAOFactory(creator=creator, slug="csp")
    for kind, schema in (
        ("tabular", None),
        ("labeling", {"labels": ["cat", "dog"]}),
        ("files", {"media_types": ["image/png"]}),
    ):
        extra = {"schema": schema} if schema else {}
        dataset = DatasetFactory(dao=dao, kind=kind, slug=f"csp-{kind}", **extra)
        dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    return creator, dao


def test_site_pages_have_no_inline_script(world) -> None:  # type: ignore[no-untyped-def]
    creator, dao = world
    client = Client()
    client.force_login(creator, backend="django.contrib.auth.backends.ModelBackend")
    urls = [
        "/",
        "/daos/new",
        f"/daos/{dao.slug}/",
        *(f"/daos/{dao.slug}/csp-{kind}/" for kind in ("tabular", "labeling", "files")),
        f"/daos/{dao.slug}/csp-labeling/label",
        reverse("my-contributions"),
        reverse("my-rewards"),
        "/admin/",
        f"/admin/dashboard/{dao.slug}/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        _assert_headers(response)
        assert _inline_code(response.content.decode()) == [], url


def test_console_pages_work_and_have_no_inline_script(world) -> None:  # type: ignore[no-untyped-def]
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator, backend="django.contrib.auth.backends.ModelBackend")
    checked = 0
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        if model_admin.has_add_permission(_request_for(operator)):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            _assert_headers(response)
            assert _inline_code(response.content.decode()) == [], url
            checked += 1
    assert checked >= 10


def _request_for(user):  # type: ignore[no-untyped-def]
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_user_uploads_are_served_as_sandboxed_attachments(tmp_path: Path, client: Client) -> None:
    # The polyglot from the corpus, pinned as if it had been accepted, with a hostile type.
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        data = (make.FILES / "polyglot.png").read_bytes()
        pin = content_add(stream=io.BytesIO(data), label="test", content_type="text/html")
        response = client.get(f"/ipfs/{pin.cid}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    # The view's own, stricter policy is kept (the site-wide one would allow our scripts).
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Frame-Options"] == "DENY"
