"""Labeling from the keyboard alone: a digit picks the label, Enter submits, the next item
arrives without a reload."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import Membership, Role, User
from labeling.models import Label
from tests.browser.conftest import sign_in
from tests.factories import DAOFactory
from tests.labeling.conftest import LABELING_SCHEMA, make_dataset, make_tasks

pytestmark = pytest.mark.browser

# The request for one answer is done once its count is shown and the form is idle again.
ANSWERED_JS = """(n) => document.getElementById("done-total").textContent === String(n)
    && document.getElementById("label-form").getAttribute("aria-busy") === "false"
    && !document.getElementById("label-work").hidden"""


def test_five_items_are_labelled_with_digit_keys_and_enter(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(dao)
    make_tasks(dataset, 8)
    labels = LABELING_SCHEMA["labels"]
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")
    page.evaluate("window.__sameDocument = true")

    item = page.locator("#item-body .item-text")
    answered: dict[str, int] = {}
    for n in range(5):
        expect(item).to_have_text(f"item {n}")  # tasks come in order
        page.keyboard.press(str(n % 3 + 1))
        expect(page.locator('#label-choices button[aria-pressed="true"]')).to_have_attribute(
            "value", labels[n % 3]
        )
        page.keyboard.press("Enter")
        page.wait_for_function(ANSWERED_JS, arg=n + 1)
        answered[f"item {n}"] = n % 3
        expect(page.locator("#label-message")).to_have_text(
            f"Saved “{labels[n % 3]}”. Next item loaded."
        )

    expect(page.locator("#done-today")).to_have_text("5")
    assert page.evaluate("window.__sameDocument") is True
    stored = Label.objects.filter(labeler=wallet_user).select_related("task")
    assert {label.task.payload["text"]: label.choice for label in stored} == answered
    assert all(label.value == [labels[label.choice]] for label in stored)
    assert all(label.duration_ms > 0 for label in stored)
