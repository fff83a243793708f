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


def test_the_contributor_pages_render_in_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    """Each translated page a contributor walks through, in zh-Hans: rendered, in Chinese, and
    with no placeholder left unfilled (a translation that lost one would show "%(")."""
    from contributions.models import Release, Status
    from datadao.models import Role
    from ipfs.cid import RAW, Cid
    from rewards.models import RewardPolicy
    from tests.factories import (
        DAOFactory,
        DatasetFactory,
        MembershipFactory,
        UserFactory,
        contributions_bulk,
    )

    user = UserFactory()
    dao = DAOFactory(epoch_days=7)
    dataset = DatasetFactory(
        dao=dao,
        schema={"columns": [{"name": "pm25", "type": "float", "required": True, "min": 0}]},
    )
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    MembershipFactory(user=user, dao=dao, role=Role.CONTRIBUTOR)
    mine = contributions_bulk(dataset, 2, status=Status.PINNED, contributor=user)
    release = Release.objects.create(
        dataset=dataset,
        version=1,
        cid=str(Cid.of_block(b"an i18n release", codec=RAW)),
        manifest={},
        contributions_count=2,
        total_bytes=20,
    )
    client = client_for(user)
    pages = {
        "/": "数据 DAO",
        f"/daos/{dao.slug}/": "成员资格",
        f"/daos/{dao.slug}/{dataset.slug}/": "贡献如何评分",
        "/me/contributions": "我的贡献",
        f"/me/contributions/{mine[0].pk}": "校验报告",
        "/me/rewards": "当前纪元中累计的奖励",
        "/me/access": "我的数据访问",
        "/me/tokens": "新建令牌",
        f"/releases/{release.cid}/": "下载",
        f"/daos/{dao.slug}/proposals": "还没有提案",
    }
    for path, chinese in pages.items():
        page = client.get(path, headers={"accept-language": "zh-hans"})
        html = page.content.decode()
        assert page.status_code == 200, path
        assert chinese in html, path
        assert "%(" not in html, path
        assert "使用以太坊登录" not in html and "退出登录" in html, path
