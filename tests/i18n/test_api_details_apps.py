"""Refusals of every app answer in the client's language (issue #26, items 11–12): the
``error`` code stays English, the ``detail`` is Simplified Chinese for ``zh-CN``. One refusal
per app here; ``test_coverage`` holds every marked message to the catalogue."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from contributions.models import Status
from datadao.errors import Detail
from datadao.http import localized
from datadao.labels import english, label_detail
from datadao.models import Visibility
from rights import services as rights_services
from rights.services import RightsRefused
from synthetic.models import JobStatus
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db
ZH = {"accept-language": "zh-CN,zh;q=0.9"}
EN = {"accept-language": "en"}


def _both(client: Client, method: str, path: str, **kwargs: object) -> tuple[dict, dict, int]:
    english_answer = getattr(client, method)(path, headers=EN, **kwargs)
    chinese_answer = getattr(client, method)(path, headers=ZH, **kwargs)
    assert english_answer.status_code == chinese_answer.status_code
    return english_answer.json(), chinese_answer.json(), chinese_answer.status_code


def test_governance_refusal_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    en, zh, status = _both(client_for(UserFactory()), "get", "/api/proposals/987654")
    assert status == 404
    assert en == {"error": "not_found", "detail": "There is no proposal 987654 you may see."}
    assert zh == {"error": "not_found", "detail": "没有你可以查看的提案 987654。"}


def test_disputes_refusal_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    en, zh, status = _both(client_for(UserFactory()), "get", "/api/challenges/987654")
    assert status == 404
    assert en["error"] == zh["error"] == "not_found"
    assert zh["detail"] == "没有你可以查看的质疑 987654。"


def test_rights_refusal_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    en, zh, status = _both(
        client_for(UserFactory()),
        "post",
        "/api/datasets/987654/purchases",
        data={"tx_hash": "0x" + "ab" * 32},
        content_type="application/json",
    )
    assert status == 404
    assert en == {"error": "not_for_sale", "detail": "There is no dataset 987654 for sale."}
    assert zh == {"error": "not_for_sale", "detail": "没有在售的数据集 987654。"}


def test_query_refusal_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    en, zh, status = _both(client_for(UserFactory()), "get", "/api/queries/987654")
    assert status == 404
    assert en["error"] == zh["error"]
    assert zh["detail"] == "你没有查询 987654。"


def test_validator_refusal_in_chinese() -> None:
    en, zh, status = _both(Client(), "get", "/api/validators/work")
    assert status == 401
    assert en["error"] == zh["error"] == "validator_signature"
    assert zh["detail"].startswith(
        "请用你的验证者密钥签署请求：请求头 X-Datadao-Validator（你的地址）、"
        "X-Datadao-Timestamp（Unix 秒）和 X-Datadao-Signature"
    )


def test_labeling_refusal_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    en, zh, status = _both(client_for(UserFactory()), "get", "/api/labeling/987654/me")
    assert status == 404
    assert en["error"] == zh["error"] == "not_found"
    assert zh["detail"] == "没有标注数据集 987654。"
    en, zh, status = _both(client_for(UserFactory()), "delete", "/api/labeling/987654/me")
    assert status == 405
    assert en == {"error": "method_not_allowed", "detail": "Use GET."}
    assert zh == {"error": "method_not_allowed", "detail": "请使用 GET。"}


def test_a_phrase_filled_into_a_refusal_is_translated_with_it() -> None:
    """``Only a creator or admin of this DAO may %(what)s.`` with ``what=Detail("set a
    price")``: English where it is kept, one Chinese sentence in the answer."""
    dataset = DatasetFactory(visibility=Visibility.MEMBERS)
    with translation.override("zh-hans"), pytest.raises(RightsRefused) as caught:
        rights_services.offer_set(dataset=dataset, actor=UserFactory(), price=5)
    message = caught.value.message
    assert message == "Only a creator or admin of this DAO may set a price."
    with translation.override("zh-hans"):
        assert localized(message) == "只有此 DAO 的创建者或管理员才能设定价格。"
    with translation.override("en"):
        assert localized(message) == "Only a creator or admin of this DAO may set a price."


def test_a_status_label_in_a_refusal_is_english_where_kept_and_translated_in_the_answer() -> None:
    with translation.override("zh-hans"):
        # Made while a Chinese request is being answered: still English text.
        detail = Detail(
            "Job %(pk)s is %(lower)s; too late.",
            pk=3,
            lower=label_detail(JobStatus.PUBLISHED, lower=True),
        )
        assert detail == "Job 3 is published; too late."
        # "Published" alone is a column heading elsewhere: the label's context keeps them apart.
        assert localized(detail) == "任务 3 的状态为：已发布；为时已晚。"
        assert english(Status.HELD) == "Held: validators disagree"
        assert str(Status.HELD.label) == "已搁置：验证者意见不一"
    with translation.override("en"):
        assert localized(detail) == "Job 3 is published; too late."
