"""Labeling from the keyboard alone: a digit picks the label, Enter submits, the next item
arrives without a reload."""

from __future__ import annotations

import io

import numpy as np
import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import Membership, Role, User
from ipfs.services import content_add
from labeling.demo import digit_png
from labeling.models import Label, LabelTask
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


def test_digit_labels_are_picked_by_typing_the_digit_shown(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    """Labels "0".."9": the key is the label. Typing the digit seen stores that digit (never
    the label at that position: "1" must not pick "0")."""
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    digits = [str(d) for d in range(10)]
    dataset = make_dataset(dao, labels=digits)
    make_tasks(dataset, 11)  # one more than answered: the page always has a next item
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")

    item = page.locator("#item-body .item-text")
    typed: dict[str, str] = {}
    for n in range(10):
        expect(item).to_have_text(f"item {n}")
        digit = str((3 * n + 7) % 10)  # every digit once, 0 and 9 included, out of order
        button = page.locator(f'#label-choices button[value="{digit}"]')
        expect(button.locator("kbd")).to_have_text(digit)  # the key it shows is its label
        page.keyboard.press(digit)
        expect(page.locator('#label-choices button[aria-pressed="true"]')).to_have_attribute(
            "value", digit
        )
        page.keyboard.press("Enter")
        page.wait_for_function(ANSWERED_JS, arg=n + 1)
        typed[f"item {n}"] = digit

    stored = Label.objects.filter(labeler=wallet_user).select_related("task")
    assert {label.task.payload["text"]: label.value for label in stored} == {
        text: [digit] for text, digit in typed.items()
    }
    assert sorted(typed.values()) == digits


def test_multi_character_labels_are_numbered_and_picked_by_their_number(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(dao, labels=["10", "2", "30"])
    make_tasks(dataset, 2)
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")
    expect(page.locator("#item-body .item-text")).to_have_text("item 0")
    for number, name in (("1", "10"), ("2", "2"), ("3", "30")):
        expect(page.locator(f'#label-choices button[value="{name}"] kbd')).to_have_text(number)
    page.keyboard.press("2")
    expect(page.locator('#label-choices button[aria-pressed="true"]')).to_have_attribute(
        "value", "2"
    )
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    assert Label.objects.get(labeler=wallet_user).value == ["2"]


def _help_page(page: Page, wallet: LocalAccount, wallet_user: User) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(dao)
    make_tasks(dataset, 4)
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")
    expect(page.locator("#item-body .item-text")).to_have_text("item 0")


def test_help_opened_with_question_mark_leaves_enter_submitting(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    """``?`` then a digit then Enter: the answer is sent (the help used to take the focus, and
    Enter then toggled it instead, silently)."""
    _help_page(page, wallet, wallet_user)
    help_ = page.locator("#label-help")
    page.keyboard.press("?")
    expect(help_).to_have_attribute("open", "")
    expect(page.locator("#label-message")).to_have_text(
        "Keyboard help shown. Press ? or Escape to hide it."
    )
    assert not page.evaluate(
        "document.getElementById('label-help').contains(document.activeElement)"
    )
    for n in range(2):
        page.keyboard.press("2")
        page.keyboard.press("Enter")
        page.wait_for_function(ANSWERED_JS, arg=n + 1)
        expect(help_).to_have_attribute("open", "")  # Enter did not touch the help
    page.keyboard.press("?")
    expect(help_).not_to_have_attribute("open", "")
    expect(page.locator("#label-message")).to_have_text("Keyboard help hidden.")
    page.keyboard.press("?")
    page.keyboard.press("Escape")
    expect(help_).not_to_have_attribute("open", "")
    labels = LABELING_SCHEMA["labels"]
    assert list(Label.objects.filter(labeler=wallet_user).values_list("value", flat=True)) == [
        [labels[1]],
        [labels[1]],
    ]


def test_help_opened_with_the_mouse_leaves_enter_submitting(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    _help_page(page, wallet, wallet_user)
    page.locator("#label-help summary").click()
    expect(page.locator("#label-help")).to_have_attribute("open", "")
    page.wait_for_function(
        "!document.getElementById('label-help').contains(document.activeElement)"
    )
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    # Tabbed to the toggle with an answer waiting, Enter still sends the answer.
    page.keyboard.press("1")
    page.locator("#label-help summary").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=2)
    expect(page.locator("#label-help")).to_have_attribute("open", "")
    labels = LABELING_SCHEMA["labels"]
    stored = Label.objects.filter(labeler=wallet_user).values_list("value", flat=True)
    assert sorted(stored) == sorted([[labels[2]], [labels[0]]])


def test_a_small_image_is_scaled_up_crisp_and_zooms_with_plus_and_minus(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    """A 32x32 digit (the demo's size) is drawn at a whole multiple near 320 px with square
    pixels; + and - (and the buttons) zoom, and the zoom carries to the next item."""
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = make_dataset(dao, labels=[str(d) for d in range(10)], item_kind="image")
    for i in range(2):
        pin = content_add(
            stream=io.BytesIO(digit_png(np.eye(8) * (16 - i), scale=4)),
            label=f"labeling:{dataset.pk}",
            content_type="image/png",
        )
        LabelTask.objects.create(
            dataset=dataset,
            source_key=f"digit{i}",
            kind="image",
            payload={"cid": pin.cid, "media_type": "image/png"},
            wanted=3,
        )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/label")
    img = page.locator("#item-body img.item-image")
    expect(img).to_have_attribute("data-scale", "10")  # 32 px x 10 = 320 px
    size = img.bounding_box()
    assert size is not None and round(size["width"]) == 320 and round(size["height"]) == 320
    assert img.evaluate("el => getComputedStyle(el).imageRendering") == "pixelated"
    assert img.evaluate("el => el.naturalWidth") == 32

    page.keyboard.press("+")
    expect(img).to_have_attribute("data-scale", "13")  # 10 x 1.25, a whole factor
    expect(page.locator("#zoom-level")).to_have_text("1300%")
    page.keyboard.press("-")
    page.keyboard.press("-")
    expect(img).to_have_attribute("data-scale", "8")  # 10 / 1.25
    page.locator("#zoom-in").click()
    expect(img).to_have_attribute("data-scale", "10")
    page.locator("#zoom-out").click()
    expect(img).to_have_attribute("data-scale", "8")
    # The zoom stays for the next item; the digit keys still label.
    page.keyboard.press("7")
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    expect(img).to_have_attribute("data-scale", "8")
    assert Label.objects.get(labeler=wallet_user).value == ["7"]
