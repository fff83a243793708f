"""Issue #26 item 13: the contributor's and the labeler's journeys in Simplified Chinese, in
Chromium.

The browser asks for Chinese (its locale sets Accept-Language); every page on the way answers in
it: sign-in, the dataset page, an upload, My contributions, My rewards; the labeling page, where
the text the script writes (the messages after each answer, the keyboard help) comes from the
zh-Hans JavaScript catalogue. The switcher then turns the site to English for this browser
alone. A screenshot of each step is saved under the test's tmp_path (and kept by pytest for the
last few runs)."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from playwright.sync_api import BrowserContext, Page, expect

from contributions.models import Contribution
from datadao.models import Dataset, DatasetStatus, Membership, Role
from datadao.services import dataset_set_status, user_get_or_create
from labeling import services as labeling_services
from labeling.models import Label, LabelerStats, LabelTask
from rewards.models import RewardEntry, RewardPolicy
from tests.browser.conftest import install_wallet
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.labeling.conftest import age_labels, make_dataset, make_gold, make_tasks

pytestmark = [pytest.mark.browser]

# One answer is done once its count is shown and the form is idle again.
ANSWERED_JS = """(n) => document.getElementById("done-total").textContent === String(n)
    && document.getElementById("label-form").getAttribute("aria-busy") === "false"
    && !document.getElementById("label-work").hidden"""


def _chinese_font() -> None:
    # Without a font that has Chinese glyphs the screenshots would show empty boxes.
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    assert fonts.stdout.strip(), "no Chinese font: apt-get install fonts-wqy-zenhei (bin/test does)"


class _CheckQuestionFirst(random.Random):
    """The hand-out draw with a check question every time there is one for the labeler (the
    dataset's gold rate decides it by chance otherwise); with the pool spent, ordinary work."""

    def random(self) -> float:
        return 0.0


def test_the_contributor_journey_in_chinese_with_screenshots(
    new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    _chinese_font()
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


def test_the_labeler_journey_in_chinese_with_screenshots(
    new_context: Callable[..., BrowserContext], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member labels a dataset in Chinese: the dataset page, the labeling page (a check
    question first, then ordinary items, from the keyboard), the keyboard help, and the rewards
    their settled labels earn, weighted by their accuracy on check questions."""
    _chinese_font()
    context = new_context(locale="zh-CN")
    wallet = Account.create()
    install_wallet(context, wallet)
    user, _ = user_get_or_create(address=wallet.address)
    dao = DAOFactory(name="图片标注 DAO", epoch_days=7)
    Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(
        dao, labels=["猫咪", "小狗", "小鸟"], gold_rate=0.5, confidence_target=0.6
    )
    Dataset.objects.filter(pk=dataset.pk).update(name="动物分类")
    dataset.refresh_from_db()
    RewardPolicy.objects.create(dataset=dataset, per_label=10**18)
    tasks = make_tasks(dataset, 4)
    # Two other members have labeled every item already: a third answer settles it.
    for other in (UserFactory(), UserFactory()):
        Membership.objects.create(dao=dao, user=other, role=Role.CONTRIBUTOR)
        for _ in tasks:
            hold = labeling_services.task_next(dataset_id=dataset.pk, labeler=other)
            assert hold is not None
            labeling_services.label_submit(
                dataset_id=dataset.pk, labeler=other, hold_id=hold.pk, value="猫咪"
            )
    make_gold(dataset, ["猫咪"])
    # The labeler's reported accuracy on check questions so far (their reputation's basis).
    LabelerStats.objects.create(
        dataset=dataset, labeler=user, gold_answered=10, gold_correct=9,
        gold_shown_answered=10, gold_shown_correct=9,
    )  # fmt: skip
    monkeypatch.setattr("labeling.services.assign._random", _CheckQuestionFirst())

    page: Page = context.new_page()
    page.set_default_timeout(15_000)
    shots: list[Path] = []

    def shot(name: str) -> None:
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

    # Signed in on the dataset page, which describes the labeling work in Chinese.
    page.goto(f"/daos/{dao.slug}/{dataset.slug}/")
    page.get_by_role("button", name="使用以太坊登录").click()
    expect(page.locator("header .who")).to_contain_text("已登录")
    expect(page.get_by_role("heading", name="标注", exact=True)).to_be_visible()
    expect(page.locator("body")).to_contain_text("你看到的条目中约 50% 是有已知答案的检验题")
    shot("dataset")

    # The labeling page: the first item is the check question (it looks like any other).
    page.get_by_role("link", name="开始标注").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("标注：动物分类")
    expect(page.locator("#gold-accuracy")).to_have_text("10 道中的 90%")
    expect(page.locator("#label-form legend")).to_contain_text("选择一个标签")
    item = page.locator("#item-body .item-text")
    expect(item).to_have_text("gold item 0")
    shot("label-check-question")
    pressed = page.locator('#label-choices button[aria-pressed="true"]')
    for n in range(3):
        page.keyboard.press("1")
        expect(pressed).to_have_attribute("value", "猫咪")
        expect(page.locator("#label-message")).to_have_text("已选择：猫咪。按 Enter 提交。")
        page.keyboard.press("Enter")
        page.wait_for_function(ANSWERED_JS, arg=n + 1)
        # The script's own words, from the zh-Hans JavaScript catalogue.
        expect(page.locator("#label-message")).to_have_text("已保存“猫咪”。已加载下一个条目。")
        if n == 0:
            shot("label-saved")
    expect(page.locator("#done-total")).to_have_text("3")
    expect(page.locator("#hold-expiry")).to_contain_text("还会为你保留")
    page.keyboard.press("?")
    expect(page.locator("#label-message")).to_have_text("已显示键盘帮助。按 ? 或 Escape 隐藏。")
    expect(page.locator("#label-help summary")).to_contain_text("键盘快捷键")
    expect(page.locator("#label-help")).to_contain_text("跳过此条目（你不会再看到它）")
    shot("label-keyboard-help")
    mine = Label.objects.filter(labeler=user).select_related("task")
    assert [label.task.is_gold for label in mine.order_by("id")] == [True, False, False]

    # The items settle (as the consensus worker would, once the undo window is past): the
    # labels earn rewards, weighted by the labeler's reputation, accruing in the open epoch.
    age_labels()
    for task in LabelTask.objects.filter(labels__labeler=user, is_gold=False):
        labeling_services.task_consensus_update(task_id=task.pk)
    earned = RewardEntry.objects.filter(account=user, reason="label")
    assert earned.count() == 2 and all(0 < int(e.amount) <= 10**18 for e in earned)
    page.goto("/")
    page.get_by_role("link", name="我的奖励").click()
    expect(page.get_by_role("heading", name="当前纪元中累计的奖励")).to_be_visible()
    row = page.get_by_role("row", name="图片标注 DAO")
    expect(row).to_contain_text("TOK")
    expect(row.get_by_role("cell").last).to_have_text("2")
    shot("my-rewards")

    assert [p.name for p in shots] == [
        "01-dataset.png",
        "02-label-check-question.png",
        "03-label-saved.png",
        "04-label-keyboard-help.png",
        "05-my-rewards.png",
    ]
    assert all(p.stat().st_size > 5_000 for p in shots)
