"""``/jsi18n/``: the scripts' translations, in the request's language, revalidated by an ETag
that names the language (one URL serves both)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ZH = {"accept-language": "zh-hans"}


def _escaped(text: str) -> str:
    """The text as the catalogue writes it in the script (JSON, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def test_the_catalogue_answers_in_chinese_for_a_chinese_browser() -> None:
    answer = Client().get("/jsi18n/", headers=ZH)
    script = answer.content.decode()
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert _escaped("新的待标注条目。") in script  # label.js's "New item to label."
    assert _escaped("被拒绝（%(status)s）。") in script  # a placeholder kept
    assert "globalThis.interpolate" in script or "interpolate" in script


def test_english_has_no_translations_and_a_different_etag() -> None:
    english = Client().get("/jsi18n/", headers={"accept-language": "en"})
    chinese = Client().get("/jsi18n/", headers=ZH)
    assert _escaped("新的待标注条目。") not in english.content.decode()
    assert english["ETag"] != chinese["ETag"]
    # Unchanged, in the same language: a 304, so pages do not fetch it again.
    again = Client().get("/jsi18n/", headers={**ZH, "if-none-match": chinese["ETag"]})
    assert again.status_code == 304
    # The switcher changed the language: the old ETag does not match, the new catalogue comes.
    switched = Client().get(
        "/jsi18n/", headers={"accept-language": "en", "if-none-match": chinese["ETag"]}
    )
    assert switched.status_code == 200


def test_every_page_loads_it_before_its_scripts() -> None:
    html = Client().get("/", headers=ZH).content.decode()
    assert html.index('src="/jsi18n/"') < html.index("datadao/wallet.js")
    login = Client().get("/admin/login/", headers=ZH).content.decode()
    assert 'src="/jsi18n/"' in login


def test_only_get_is_answered() -> None:
    assert Client().post("/jsi18n/").status_code == 405
