"""API refusals: the ``error`` code is the same in every language, the ``detail`` follows the
request's language; what is stored or logged stays English (datadao.errors.Detail)."""

from __future__ import annotations

import pickle

import pytest
from django.test import Client
from django.utils import translation

from datadao.errors import Detail
from datadao.http import localized
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ZH = {"accept-language": "zh-CN,zh;q=0.9"}


def test_a_refusal_in_chinese_keeps_its_english_code() -> None:
    english = Client().get("/api/contributions", headers={"accept-language": "en"})
    chinese = Client().get("/api/contributions", headers=ZH)
    assert english.status_code == chinese.status_code == 401
    assert english.json() == {
        "error": "unauthenticated",
        "detail": "Sign in, or send an API token (Bearer dd_…).",
    }
    assert chinese.json() == {
        "error": "unauthenticated",
        "detail": "请先登录，或发送 API 令牌（Bearer dd_…）。",
    }


def test_a_refusal_with_values_is_translated_with_its_values(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(UserFactory())
    answer = client.get("/api/contributions/987654", headers=ZH)
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "detail": "没有你可以查看的贡献 987654。"}


def test_a_refusal_from_the_token_middleware_is_translated() -> None:
    answer = Client().get("/api/contributions", headers={**ZH, "authorization": "Bearer dd_nope"})
    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthenticated", "detail": "未知的 API 令牌。"}


def test_a_sign_in_refusal_is_translated() -> None:
    # The sign-in endpoints answer JSON too.
    answer = Client().get("/auth/nonce?address=nothex", headers=ZH)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_address",
        "detail": "address：不是以太坊地址（0x + 40 位十六进制）。",
    }


def test_detail_is_the_english_text_wherever_it_is_kept() -> None:
    with translation.override("zh-hans"):
        detail = Detail("There is no dataset %(dataset_id)s you can see.", dataset_id=7)
        assert detail == "There is no dataset 7 you can see."
        assert f"{detail}" == "There is no dataset 7 you can see."
        assert localized(detail) == "没有你可以查看的数据集 7。"
        # A refusal crossing a process boundary (a task's result) keeps its template.
        copy = pickle.loads(pickle.dumps(detail))  # noqa: S301 (our own bytes)
        assert copy == detail
        assert localized(copy) == "没有你可以查看的数据集 7。"
    with translation.override("en"):
        assert localized(detail) == "There is no dataset 7 you can see."


def test_messages_missing_from_the_catalogue_stay_english() -> None:
    with translation.override("zh-hans"):
        assert localized(Detail("Not in any catalogue: %(n)s.", n=3)) == "Not in any catalogue: 3."
        assert localized("Not in any catalogue either.") == "Not in any catalogue either."
        # A literal percent sign in a message without values is not a placeholder.
        assert localized(Detail("100% sure")) == "100% sure"
