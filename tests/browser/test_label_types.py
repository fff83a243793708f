"""The labeler page's widgets of the task types beyond classification, in Chromium: boxes
drawn with the mouse, reclassed with a digit, nudged with the arrow keys and deleted; spans
selected with the mouse and with the keyboard; a comparison picked with a key; a
transcription typed and sent with Ctrl+Enter. Each answer is checked as stored."""

from __future__ import annotations

import io

import pytest
from eth_account.signers.local import LocalAccount
from PIL import Image
from playwright.sync_api import Page, expect

from datadao.models import DatasetStatus, Membership, Role, User
from datadao.services import dataset_set_status
from ipfs.services import content_add
from labeling.models import Label, LabelTask
from tests.browser.conftest import sign_in
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.browser

ANSWERED_JS = """(n) => document.getElementById("done-total").textContent === String(n)
    && document.getElementById("label-form").getAttribute("aria-busy") === "false\""""


def _dataset(user: User, kind: str, payloads: list[dict], **schema):  # type: ignore[no-untyped-def, type-arg]
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    dataset = DatasetFactory(
        dao=dao, kind="labeling", schema={"overlap": 1, "gold_rate": 0.0, **schema}
    )
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    for i, payload in enumerate(payloads):
        LabelTask.objects.create(
            dataset=dataset, source_key=f"t{i}", kind=kind, payload=payload, wanted=1
        )
    return dataset


def _image(dataset_label: str, width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 200, 200)).save(out, format="PNG")
    out.seek(0)
    return content_add(stream=out, label=dataset_label, content_type="image/png").cid


def test_boxes_are_drawn_reclassed_nudged_and_deleted(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dataset = _dataset(wallet_user, "image", [], task="boxes", labels=["car", "person"])
    for i in range(2):
        cid = _image(f"labeling:{dataset.pk}", 200, 100 + i)
        LabelTask.objects.create(
            dataset=dataset,
            source_key=f"img{i}",
            kind="image",
            payload={"cid": cid, "width": 200, "height": 100 + i},
            wanted=1,
        )
    sign_in(page, wallet, f"/daos/{dataset.dao.slug}/{dataset.slug}/label")
    layer = page.locator(".box-layer")
    page.wait_for_function(
        "() => { const i = document.querySelector('.box-image'); return i && i.naturalWidth > 0; }"
    )
    area = layer.bounding_box()
    assert area is not None
    scale = area["width"] / 200

    def drag(x0: float, y0: float, x1: float, y1: float) -> None:
        page.mouse.move(area["x"] + x0 * scale, area["y"] + y0 * scale)
        page.mouse.down()
        page.mouse.move(area["x"] + (x0 + x1) / 2 * scale, area["y"] + (y0 + y1) / 2 * scale)
        page.mouse.move(area["x"] + x1 * scale, area["y"] + y1 * scale)
        page.mouse.up()

    drag(40, 20, 120, 70)  # a car (the first class)
    boxes = page.locator(".box-layer .box")
    expect(boxes).to_have_count(1)
    expect(boxes.first).to_have_attribute("data-label", "car")
    page.keyboard.press("2")  # the selected box becomes a person
    expect(boxes.first).to_have_attribute("data-label", "person")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")  # ten pixels down
    drag(150, 10, 190, 40)  # a second box, a person (the current class), then deleted
    expect(boxes).to_have_count(2)
    page.keyboard.press("Delete")
    expect(boxes).to_have_count(1)
    expect(page.locator(".box-list li")).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    expect(page.locator("#label-message")).to_have_text("Saved “1 box”. Next item loaded.")
    (box,) = Label.objects.get(labeler=wallet_user).value
    assert box["label"] == "person"
    assert abs(box["x"] - 43) <= 1.5 and abs(box["y"] - 30) <= 1.5
    assert abs(box["w"] - 80) <= 1.5 and abs(box["h"] - 50) <= 1.5


def test_spans_are_marked_with_the_mouse_and_with_the_keyboard(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    text = "Ada Lovelace met Charles Babbage in London"
    dataset = _dataset(
        wallet_user,
        "text",
        [{"text": text}, {"text": "next one"}],
        task="spans",
        labels=["PER", "LOC"],
    )
    sign_in(page, wallet, f"/daos/{dataset.dao.slug}/{dataset.slug}/label")
    words = page.locator(".span-text .word")
    expect(words).to_have_count(7)
    # The mouse: from inside "Charles" to inside "Babbage", widened to the two whole words.
    first, last = words.nth(3).bounding_box(), words.nth(4).bounding_box()
    assert first is not None and last is not None
    page.mouse.move(first["x"] + 3, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] - 3, last["y"] + last["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.locator("#label-message")).to_contain_text("Selected “Charles Babbage”")
    page.keyboard.press("1")
    expect(words.nth(3)).to_have_attribute("data-label", "PER")
    expect(words.nth(4)).to_have_attribute("data-label", "PER")
    # The keyboard: to the seventh word, then Shift+← over "in" and back, then LOC.
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".span-text .word.cursor")).to_have_text("London")
    page.keyboard.press("2")
    expect(words.nth(6)).to_have_attribute("data-label", "LOC")
    # Overlapping is refused on the page, as on the server.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("2")
    expect(page.locator("#label-message")).to_contain_text("does not allow overlapping spans")
    expect(page.locator(".span-list li")).to_have_count(2)
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    assert Label.objects.get(labeler=wallet_user).value == [
        {"start": 17, "end": 32, "label": "PER"},
        {"start": 36, "end": 42, "label": "LOC"},
    ]


def test_a_comparison_by_key_and_a_transcription_by_ctrl_enter(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    pair = {
        "prompt": "Capital of France?",
        "left": {"id": "a", "text": "Lyon"},
        "right": {"id": "b", "text": "Paris"},
    }
    dataset = _dataset(wallet_user, "pair", [pair, pair], task="pairwise", allow_tie=False)
    sign_in(page, wallet, f"/daos/{dataset.dao.slug}/{dataset.slug}/label")
    expect(page.locator(".pair-prompt")).to_contain_text("Capital of France?")
    expect(page.locator(".pair-tie")).to_have_count(0)  # no tie in this dataset
    page.keyboard.press("Enter")
    expect(page.locator("#label-message")).to_have_text(
        "Pick the better answer first: 1 (left), 2 (right)."
    )
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    assert Label.objects.get(labeler=wallet_user).value == "right"

    sign = _dataset(wallet_user, "image", [], task="text")
    for i in range(2):
        cid = _image(f"labeling:{sign.pk}", 60, 20 + i)
        LabelTask.objects.create(
            dataset=sign, source_key=f"s{i}", kind="image", payload={"cid": cid}, wanted=1
        )
    page.goto(f"/daos/{sign.dao.slug}/{sign.slug}/label")
    area = page.locator("#text-answer")
    expect(area).to_be_focused()
    area.type("  open daily  ")  # typing s or u here is text, not a shortcut
    page.keyboard.press("Control+Enter")
    page.wait_for_function(ANSWERED_JS, arg=1)
    assert Label.objects.get(labeler=wallet_user, dataset=sign).value == "open daily"
