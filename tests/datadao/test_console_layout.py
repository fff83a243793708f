"""Every console page links the console's favicon and stylesheet, and both files are served."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import DAOFactory

pytestmark = pytest.mark.django_db

FAVICON = '<link rel="icon" type="image/svg+xml" href="/static/datadao/favicon.svg">'
STYLES = '<link rel="stylesheet" href="/static/datadao/console.css">'


def test_console_pages_link_the_favicon_and_the_console_css() -> None:
    dao = DAOFactory()
    client = Client()
    assert FAVICON in client.get("/admin/login/").content.decode()  # signed out too
    client.force_login(dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    for url in ("/admin/", "/admin/contributions/contribution/", "/admin/rewards/epoch/"):
        body = client.get(url).content.decode()
        assert FAVICON in body and STYLES in body, url
        assert "datadao console" in body, url  # the site's own header is kept


def test_the_favicon_and_the_stylesheet_exist_and_are_served() -> None:
    path = finders.find("datadao/favicon.svg")
    assert path is not None
    with open(path, encoding="utf-8") as f:
        assert f.read().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert finders.find("datadao/console.css") is not None
    response = Client().get("/static/datadao/favicon.svg")
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    css = b"".join(Client().get("/static/datadao/console.css").streaming_content).decode()
    assert "#changelist-form .results" in css and "overflow-x: auto" in css
