"""At 1280 px the console's widest lists (contributions, epochs) stay inside the window: the
epochs list fits, the contributions list scrolls in its own box, and the page itself never
scrolls sideways."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page

from contributions.models import Contribution, Status
from datadao.models import User
from rewards.models import Epoch, RewardEntry
from rewards.services import epoch_current
from tests.browser.conftest import sign_in
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.browser

WIDTH = 1280


def _seed(user: User) -> None:
    dao = DAOFactory(creator=user, name="A DAO with a rather long name for its lists")
    dataset = DatasetFactory(dao=dao, name="Air quality readings from many districts")
    for n in range(3):
        Contribution.objects.create(
            dataset=dataset,
            contributor=UserFactory(),
            sha256=f"{n:064x}",
            size=100,
            storage_name=f"layout-{n}",
            original_name=f"a-rather-long-file-name-for-readings-{n}.csv",
            status=Status.PINNED,
            cid=f"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4layout{n}",
            score=9000,
            quality=8000,
            uniqueness=10000,
        )
    epoch_current(dao=dao)
    RewardEntry.objects.create(
        dao=dao,
        dataset=dataset,
        account=UserFactory(),
        amount=12345 * 10**15,
        reason="contribution",
        source_type="contributions.contribution",
        source_id="1",
    )
    Epoch.objects.filter(dao=dao).update(dump_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiy")


def _measure(page: Page, path: str) -> dict[str, float]:
    page.goto(path)
    return page.evaluate(
        """() => {
        const box = document.querySelector('#changelist-form .results');
        const r = box.getBoundingClientRect();
        return {right: r.right, scroll: box.scrollWidth, client: box.clientWidth,
                overflow: getComputedStyle(box).overflowX,
                page: document.documentElement.scrollWidth};
    }"""
    )


def test_contributions_and_epochs_lists_fit_at_1280px(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    _seed(wallet_user)
    page.set_viewport_size({"width": WIDTH, "height": 800})
    sign_in(page, wallet)
    for path in ("/admin/contributions/contribution/", "/admin/rewards/epoch/"):
        m = _measure(page, path)
        assert m["right"] <= WIDTH and m["page"] <= WIDTH, (path, m)
        assert m["scroll"] <= m["client"] or m["overflow"] == "auto", (path, m)
    epochs = _measure(page, "/admin/rewards/epoch/")
    # No scrolling needed at all (the table's own 1 px borders aside).
    assert epochs["scroll"] <= epochs["client"] + 2, epochs
    # The filters sit above the list below 1440 px: the list has the column's whole width.
    assert (
        page.locator("#changelist-filter").bounding_box()["y"]
        < (  # type: ignore[index]
            page.locator("#result_list").bounding_box()["y"]  # type: ignore[index]
        )
    )
