"""The language follows the browser (Accept-Language) unless the switcher chose one, and every
page offers the switcher."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_accept_language_picks_simplified_chinese() -> None:
    page = Client().get("/", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "使用以太坊登录" in html
    assert "Sign in with Ethereum" not in html
    assert page["Content-Language"] == "zh-hans"
    assert "Accept-Language" in page["Vary"]


def test_english_without_a_preference_and_for_other_languages() -> None:
    for header in ({}, {"accept-language": "de-DE,de;q=0.9"}):
        html = Client().get("/", headers=header).content.decode()
        assert '<html lang="en">' in html
        assert "Sign in with Ethereum" in html


def test_the_switcher_overrides_the_browser_language() -> None:
    client = Client()
    home = client.get("/", headers={"accept-language": "en"}).content.decode()
    # The switcher: a form to set_language on the page, with both languages, the current chosen.
    assert 'action="/i18n/setlang/"' in home
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in home
    assert '<option value="en" lang="en" selected>English</option>' in home
    answer = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    html = client.get("/", headers={"accept-language": "en"}).content.decode()
    assert "使用以太坊登录" in html
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in html


def test_the_console_login_page_has_the_switcher_too() -> None:
    html = Client().get("/admin/login/", headers={"accept-language": "zh-hans"}).content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert '<html lang="zh-hans"' in html
