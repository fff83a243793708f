"""Pre-labels on the labeler page, in Chromium: the model's suggestion arrives selected (a
classification) or drawn (spans), Enter accepts it, and a correction is stored as the
labeler's own answer, not as taken."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import Membership, Role, User
from labeling.models import Label, LabelTask
from tests.browser.conftest import sign_in
from tests.browser.test_label_types import ANSWERED_JS, _dataset
from tests.factories import DAOFactory
from tests.labeling.conftest import make_dataset, make_tasks

pytestmark = pytest.mark.browser


def test_a_suggested_label_is_selected_and_accepted_with_enter(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(dao, suggestion_rate=1.0)
    make_tasks(dataset, 3)
    LabelTask.objects.filter(dataset=dataset).update(
        prediction=["dog"], prediction_model="m1", prediction_score=0.75
    )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")
    pressed = page.locator('#label-choices button[aria-pressed="true"]')
    note = page.locator("#label-suggestion")
    # Accepted as it is.
    expect(pressed).to_have_attribute("value", "dog")
    expect(note).to_have_text(
        "A model suggests: dog (75% sure). Press Enter to accept it, or correct it first."
    )
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    # Corrected: another key, then Enter.
    expect(pressed).to_have_attribute("value", "dog")
    page.keyboard.press("1")
    expect(pressed).to_have_attribute("value", "cat")
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=2)
    stored = list(Label.objects.filter(labeler=wallet_user).order_by("id"))
    assert [(label.value, label.suggested) for label in stored] == [
        (["dog"], True),
        (["cat"], False),
    ]


def test_suggested_spans_are_drawn_and_can_be_corrected(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    text = "Ada Lovelace met Charles Babbage in London"
    dataset = _dataset(
        wallet_user,
        "text",
        [{"text": text}, {"text": "next one"}],
        task="spans",
        labels=["PER", "LOC"],
        suggestion_rate=1.0,
    )
    LabelTask.objects.filter(dataset=dataset, payload__text=text).update(
        prediction=[
            {"start": 0, "end": 12, "label": "PER"},
            {"start": 36, "end": 42, "label": "PER"},
        ]
    )
    sign_in(page, wallet, f"/daos/{dataset.dao.slug}/{dataset.slug}/label")
    words = page.locator(".span-text .word")
    expect(words).to_have_count(7)
    expect(page.locator("#label-suggestion")).to_contain_text("A model suggests: 2 spans")
    expect(words.nth(0)).to_have_attribute("data-label", "PER")
    expect(words.nth(6)).to_have_attribute("data-label", "PER")
    # "London" is a place: the labeler relabels it with the keyboard, then sends.
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".span-text .word.cursor")).to_have_text("London")
    page.keyboard.press("Delete")
    page.keyboard.press("2")
    expect(words.nth(6)).to_have_attribute("data-label", "LOC")
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    label = Label.objects.get(labeler=wallet_user)
    assert label.value == [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 36, "end": 42, "label": "LOC"},
    ]
    assert label.suggested is False
