"""The review page in Chromium: the queue least confident first; accept, fix and send back,
each removing its item without a reload and stored as the reviewer's; boxes and spans fixed
by drawing with the labeling page's widgets."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import Membership, Role, User
from labeling.models import LabelTask, Review, TaskStatus
from tests.browser.conftest import sign_in
from tests.browser.test_label_types import _image
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


def test_a_reviewer_fixes_boxes_and_spans_by_drawing(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    """The labeling page's widgets on the review page, opened on the current answer: one box
    reclassed, a missing one drawn, a wrong span removed and the right one marked, each sent
    with Fix and stored as the reviewer's answer."""
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.REVIEWER)
    boxes = make_dataset(dao, task="boxes", labels=["car", "person"], item_kind="image")
    cid = _image(f"labeling:{boxes.pk}", 200, 100)
    task = LabelTask.objects.create(
        dataset=boxes,
        source_key="img0",
        kind="image",
        payload={"cid": cid, "width": 200, "height": 100},
        status=TaskStatus.COMPLETE,
        consensus=[{"x": 10, "y": 10, "w": 30, "h": 20, "label": "car"}],
        posterior=0.4,
        settlements=1,
    )
    sign_in(page, wallet, f"/daos/{dao.slug}/{boxes.slug}/review")
    item = page.locator("#review-items > li")
    expect(item).to_have_count(1)
    drawn = item.locator(".box-layer .box")
    expect(drawn).to_have_count(1)  # the current answer, drawn on the image
    expect(item.locator("select.review-fix-value, textarea.review-fix-value")).to_have_count(0)
    page.wait_for_function(
        "() => { const i = document.querySelector('.box-image'); return i && i.naturalWidth > 0; }"
    )
    area = item.locator(".box-layer").bounding_box()
    assert area is not None
    scale = area["width"] / 200

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * scale, area["y"] + y * scale

    page.mouse.click(*at(25, 20))  # select the car
    page.keyboard.press("2")  # it is a person
    expect(drawn.first).to_have_attribute("data-label", "person")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # new boxes are cars
    page.mouse.move(*at(100, 30))
    page.mouse.down()
    page.mouse.move(*at(130, 50))
    page.mouse.move(*at(160, 80))
    page.mouse.up()
    expect(drawn).to_have_count(2)
    item.get_by_role("button", name="Fix", exact=True).click()
    expect(page.locator("#review-message")).to_have_text(f"Item {task.pk} fixed.")

    review = Review.objects.get(task=task)
    assert review.decision == "fix" and review.reviewer_id == wallet_user.pk
    first, second = review.answer
    assert first == {"x": 10, "y": 10, "w": 30, "h": 20, "label": "person"}
    assert second["label"] == "car"
    assert abs(second["x"] - 100) <= 1.5 and abs(second["y"] - 30) <= 1.5
    assert abs(second["w"] - 60) <= 1.5 and abs(second["h"] - 50) <= 1.5
    assert LabelTask.objects.get(pk=task.pk).consensus == review.answer

    # Spans: "London" was marked a person; the reviewer removes it and marks it a place.
    text = "Ada Lovelace met Charles Babbage in London"
    spans = make_dataset(dao, task="spans", labels=["PER", "LOC"])
    london = text.index("London")
    span_task = LabelTask.objects.create(
        dataset=spans,
        source_key="s0",
        kind="text",
        payload={"text": text},
        status=TaskStatus.COMPLETE,
        consensus=[
            {"start": 0, "end": 12, "label": "PER"},
            {"start": london, "end": london + 6, "label": "PER"},
        ],
        posterior=0.5,
        settlements=1,
    )
    page.goto(f"/daos/{dao.slug}/{spans.slug}/review")
    words = page.locator("#review-items .span-text .word")
    expect(words).to_have_count(7)
    expect(words.nth(6)).to_have_attribute("data-label", "PER")
    page.locator("#review-items").get_by_role("button", name="Remove span 2").click()
    expect(words.nth(6)).not_to_have_attribute("data-label", "PER")
    box = words.nth(6).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    page.keyboard.press("2")
    expect(words.nth(6)).to_have_attribute("data-label", "LOC")
    page.get_by_role("button", name="Fix", exact=True).click()
    expect(page.locator("#review-message")).to_have_text(f"Item {span_task.pk} fixed.")
    assert Review.objects.get(task=span_task).answer == [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": london, "end": london + 6, "label": "LOC"},
    ]
