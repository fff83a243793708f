"""The review page in Chromium: the queue least confident first; accept, fix and send back,
each removing its item without a reload and stored as the reviewer's."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import Membership, Role, User
from labeling.models import LabelTask, Review, TaskStatus
from tests.browser.conftest import sign_in
from tests.factories import DAOFactory
from tests.labeling.conftest import make_dataset, make_tasks

pytestmark = pytest.mark.browser


def test_a_reviewer_accepts_fixes_and_sends_back_from_the_queue(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.REVIEWER)
    dataset = make_dataset(dao)
    tasks = make_tasks(dataset, 3)
    for task, posterior in zip(tasks, (0.9, 0.5, 0.7), strict=True):
        LabelTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETE, consensus=["dog"], posterior=posterior, settlements=1
        )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/review")
    page.evaluate("window.__sameDocument = true")
    items = page.locator("#review-items > li")
    expect(items).to_have_count(3)
    expect(items.locator(".item-text")).to_have_text(["item 1", "item 2", "item 0"])
    expect(items.first.locator(".review-posterior")).to_have_text("50%")

    items.first.get_by_role("button", name="Accept").click()
    expect(page.locator("#review-message")).to_have_text(f"Item {tasks[1].pk} accepted.")
    expect(items).to_have_count(2)

    items.first.locator("select.review-fix-value").select_option("cat")
    items.first.get_by_role("button", name="Fix", exact=True).click()
    expect(page.locator("#review-message")).to_have_text(f"Item {tasks[2].pk} fixed.")

    items.first.locator(".review-more-count").fill("2")
    items.first.get_by_role("button", name="Send back").click()
    expect(page.locator("#review-message")).to_have_text(
        f"Item {tasks[0].pk} sent back for more labels."
    )
    expect(page.locator("#review-empty")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    decisions = {r.task_id: (r.decision, r.answer, r.more) for r in Review.objects.all()}
    assert decisions == {
        tasks[1].pk: ("accept", ["dog"], 0),
        tasks[2].pk: ("fix", ["cat"], 0),
        tasks[0].pk: ("reject", None, 2),
    }
    assert set(Review.objects.values_list("reviewer_id", flat=True)) == {wallet_user.pk}
    assert LabelTask.objects.get(pk=tasks[0].pk).status == TaskStatus.OPEN
