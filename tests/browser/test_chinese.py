"""Issue #26 item 13: the contributor's journey in Simplified Chinese, in Chromium.

The browser asks for Chinese (its locale sets Accept-Language); every page on the way answers in
it: sign-in, the dataset page, an upload, My contributions, My rewards. The switcher then turns
the site to English for this browser alone. A screenshot of each step is saved under the
test's tmp_path (and kept by pytest for the last few runs)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from playwright.sync_api import BrowserContext, Page, expect

from contributions.models import Contribution
from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status, user_get_or_create
from tests.browser.conftest import install_wallet
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory

pytestmark = [pytest.mark.browser]


def test_the_contributor_journey_in_chinese_with_screenshots(
    new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    # Without a font that has Chinese glyphs the screenshots would show empty boxes.
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    assert fonts.stdout.strip(), "no Chinese font: apt-get install fonts-wqy-zenhei (bin/test does)"
    context = new_context(locale="zh-CN")
    wallet = Account.create()
    install_wallet(context, wallet)
    user, _ = user_get_or_create(address=wallet.address)
    dao = DAOFactory(name="空气质量 DAO", epoch_days=7)
    Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, name="传感器读数", kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    page: Page = context.new_page()
    page.set_default_timeout(15_000)
    shots: list[Path] = []

    def shot(name: str) -> None:
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

    # Sign-in, from the Chinese home page.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("数据 DAO")
    shot("home")
    page.get_by_role("button", name="使用以太坊登录").click()
    expect(page.locator("header .who")).to_have_attribute("title", wallet.address)
    expect(page.locator("header .who")).to_contain_text("已登录")

    # The dataset page, and an upload from it.
    page.goto(f"/daos/{dao.slug}/{dataset.slug}/")
    expect(page.get_by_role("heading", name="贡献如何评分")).to_be_visible()
    page.get_by_label("文件（拖放到这里或选择文件）").set_input_files(
        [{"name": "读数.csv", "mimeType": "text/csv", "buffer": good_csv(5)}]
    )
    page.get_by_role("button", name="上传").click()
    row = page.locator("#upload-list li", has_text="读数.csv")
    expect(row).to_have_attribute("data-status", "received")  # no worker: it waits its turn
    shot("dataset-upload")
    contribution = Contribution.objects.get(contributor=user)

    # My contributions, the contribution's own page, my rewards.
    page.get_by_role("link", name="我的贡献").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的贡献")
    expect(page.get_by_role("link", name="读数.csv")).to_be_visible()
    shot("my-contributions")
    page.get_by_role("link", name="读数.csv").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"贡献 {contribution.pk}")
    expect(page.get_by_role("heading", name="校验报告")).to_be_visible()
    shot("contribution")
    page.get_by_role("link", name="我的奖励").click()
    expect(page.get_by_role("heading", name="当前纪元中累计的奖励")).to_be_visible()
    shot("my-rewards")

    # The switcher: English for this browser from now on, whatever it asks for.
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.get_by_role("heading", name="Accruing in open epochs")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shot("switched-to-english")

    assert [p.name for p in shots] == [
        "01-home.png",
        "02-dataset-upload.png",
        "03-my-contributions.png",
        "04-contribution.png",
        "05-my-rewards.png",
        "06-switched-to-english.png",
    ]
    assert all(p.stat().st_size > 5_000 for p in shots)
