"""The first hour on the platform, as four whole journeys in Chromium. Each person is a fresh
wallet (a new random key, ``fresh_wallet`` / ``another_person``) that signs in through the
page's own "Sign in with Ethereum"; every step is a click, a keypress, typing or the file
chooser on the real pages, and each journey ends by reading back what the database kept.

With ``DATADAO_TOUR_DIR`` set, each journey also saves its key pages there (``tour_shot``):
``DATADAO_TOUR_DIR=docs/tour pytest tests/browser/test_journeys.py`` regenerates the README's
tour images of the journeys.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.test import override_settings
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from PIL import Image
from playwright.sync_api import Page, expect
from sklearn.datasets import load_digits

from contributions.models import Contribution, Status
from datadao.jointerms import terms_hash
from datadao.models import (
    DAO,
    Dataset,
    DatasetStatus,
    InviteLink,
    JoinPolicy,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
    TermsAcceptance,
    User,
)
from datadao.services import dataset_set_status
from ipfs.backends.kubo import KuboBackend
from ipfs.models import Pin
from ipfs.services import content_add
from labeling.demo import digit_png
from labeling.models import Label, LabelTask
from rewards.eip712 import recover_typed_data
from rewards.merkle import verify
from rewards.models import Allocation, Epoch, EpochStatus, RewardPolicy
from tests.browser.conftest import CHAIN_ID, SLOW_MS, sign_in, tour_shot
from tests.contributions.conftest import CSV_SCHEMA, IMAGE_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker
from tests.ipfsnode import IpfsNode
from tests.labeling.conftest import make_dataset

pytestmark = [
    pytest.mark.browser,
    pytest.mark.browser_context_args(viewport={"width": 1000, "height": 800}),
]

TERMS = "Contributions are shared under the dataset's license. Be kind."
BAD_CSV = b"id,value,kind\n1,5.5,a\n2,500,c\n"  # row 2: value above 100, kind not allowed
# Test-only keys and addresses, derived from public strings: they guard nothing.
REWARD_KEY = "0x" + "5" * 63 + "1"
DISTRIBUTOR = Account.from_key("0x" + "6" * 64).address  # stands in for a deployed contract


def _signed_terms(user: User, dao: DAO, wallet: LocalAccount) -> TermsAcceptance:
    """The user's acceptance of the DAO's current terms, checked independently of the server:
    the signature recovers to the wallet and the typed data names these terms."""
    acceptance = TermsAcceptance.objects.get(dao=dao, user=user)
    signable = encode_typed_data(full_message=acceptance.typed_data)
    assert Account.recover_message(signable, signature=acceptance.signature) == wallet.address
    assert acceptance.signer == wallet.address
    assert acceptance.typed_data["message"]["termsHash"] == terms_hash(dao.terms)
    assert acceptance.typed_data["domain"]["chainId"] == dao.chain_id
    return acceptance


def _png(seed: int, size: int = 48) -> bytes:
    """A small picture with a pattern of its own (so no two seeds look alike)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size // 8, size // 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").resize((size, size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- 1. A newcomer joins an open DAO and contributes ---------------------------------------------


@pytest.fixture
def kubo_worker(
    ipfs_node: IpfsNode, transactional_db: None, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real worker on every queue, and the live server, both storing on the real IPFS
    node (the test's js-ipfs daemon, through its Kubo API)."""
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        worker = start_worker(
            tmp_path, extra_env={"IPFS_BACKEND": "kubo", "IPFS_API_URL": ipfs_node.api_url}
        )
        try:
            yield worker
        finally:
            worker.stop()


def test_a_newcomer_joins_an_open_dao_uploads_three_files_and_follows_each_to_its_end(
    page: Page, fresh_wallet: LocalAccount, kubo_worker: WorkerProcess, kubo_backend: KuboBackend
) -> None:
    dao = DAOFactory(
        name="Open Air",
        slug="open-air",
        join_policy=JoinPolicy.OPEN,
        terms=TERMS,
        chain_id=CHAIN_ID,
        creator=UserFactory(),
    )
    readings = dataset_set_status(
        dataset=DatasetFactory(
            dao=dao, name="Readings", slug="readings", kind="tabular", schema=CSV_SCHEMA
        ),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    photos = dataset_set_status(
        dataset=DatasetFactory(
            dao=dao, name="Photos", slug="photos", kind="files", schema=IMAGE_SCHEMA
        ),
        actor=None,
        status=DatasetStatus.OPEN,
    )

    # From the directory to the DAO, signed in with the new wallet.
    sign_in(page, fresh_wallet)
    page.get_by_role("link", name="Open Air").click()
    expect(page.get_by_role("heading", name="Open Air", level=1)).to_be_visible()
    expect(page.get_by_text(TERMS)).to_be_visible()
    expect(page.get_by_role("link", name="Readings")).to_be_visible()

    # Joining signs the terms in the wallet (EIP-712).
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_text("You are a contributor of this DAO")).to_be_visible()
    expect(page.locator("ul.acceptances")).to_contain_text(fresh_wallet.address)
    tour_shot(page, "journey-join.png", height=680)
    user = User.objects.get(address=fresh_wallet.address)
    assert Membership.objects.get(dao=dao, user=user).role == Role.CONTRIBUTOR
    _signed_terms(user, dao, fresh_wallet)

    # A valid and an invalid table, chosen together, followed live to their ends.
    page.get_by_role("link", name="Readings").click()
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Files (drop them here or choose)").set_input_files(
        [
            {"name": "good.csv", "mimeType": "text/csv", "buffer": good_csv(12)},
            {"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV},
        ]
    )
    page.get_by_role("button", name="Upload").click()
    good = page.locator("#upload-list li", has_text="good.csv")
    bad = page.locator("#upload-list li", has_text="bad.csv")
    expect(good).to_have_attribute("data-status", "pinned", timeout=SLOW_MS)
    expect(bad).to_have_attribute("data-status", "rejected", timeout=SLOW_MS)
    expect(bad.locator(".status")).to_contain_text("row 2")
    assert page.evaluate("window.__sameDocument") is True
    tour_shot(
        page,
        "journey-uploads.png",
        height=480,
        start=page.get_by_role("heading", name="Contribute"),
    )
    table = Contribution.objects.get(contributor=user, original_name="good.csv")
    expect(good.locator(".status")).to_have_text(f"pinned — CID {table.cid}")

    # An image, in the DAO's picture dataset, reached from the DAO's page.
    page.get_by_role("link", name="Open Air").click()
    page.get_by_role("link", name="Photos").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Files (drop them here or choose)").click()
    chooser.value.set_files([{"name": "bench.png", "mimeType": "image/png", "buffer": _png(7)}])
    page.get_by_role("button", name="Upload").click()
    picture = page.locator("#upload-list li", has_text="bench.png")
    expect(picture).to_have_attribute("data-status", "pinned", timeout=SLOW_MS)

    # The contribution's own page, from its "details" link: status, CID, scores, report.
    image = Contribution.objects.get(contributor=user, original_name="bench.png")
    picture.get_by_role("link", name="details").click()
    expect(page).to_have_url(re.compile(rf"/me/contributions/{image.pk}$"))
    expect(page.get_by_role("heading", name=f"Contribution {image.pk}: bench.png")).to_be_visible()
    live = page.locator("#contribution-live")
    expect(live).to_have_attribute("data-status", "pinned")
    expect(live.locator("code.cid")).to_have_text(image.cid)
    expect(live.get_by_role("table").first).to_contain_text("Combined")
    tour_shot(page, "journey-contribution.png", height=900)

    # All three on "My contributions"; the rejected one's page names the faulty cells.
    page.get_by_role("link", name="My contributions").first.click()
    for name in ("good.csv", "bad.csv", "bench.png"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("link", name="bad.csv").click()
    expect(page.locator("#contribution-live")).to_have_attribute("data-status", "rejected")
    expect(page.locator("#contribution-live")).to_contain_text("'value'")

    stored = {c.original_name: c for c in Contribution.objects.filter(contributor=user)}
    assert {name: c.status for name, c in stored.items()} == {
        "good.csv": Status.PINNED,
        "bad.csv": Status.REJECTED,
        "bench.png": Status.PINNED,
    }
    assert stored["good.csv"].dataset == readings and stored["bench.png"].dataset == photos
    assert stored["bad.csv"].cid == "" and stored["bad.csv"].reasons
    for name in ("good.csv", "bench.png"):
        cid = stored[name].cid
        assert Pin.objects.filter(cid=cid).exists()
        assert kubo_backend.is_pinned(cid)  # on the IPFS node itself, not only in the table
    assert b"".join(kubo_backend.cat(stored["bench.png"].cid)) == _png(7)


# --- 2. A newcomer asks to join; an admin approves in the console --------------------------------


def test_a_newcomer_requests_to_join_and_an_admin_approves_in_the_console(
    page: Page, fresh_wallet: LocalAccount, another_person: Callable[[], tuple[Page, LocalAccount]]
) -> None:
    dao = DAOFactory(
        name="Bird Counts",
        slug="bird-counts",
        join_policy=JoinPolicy.REQUEST,
        terms=TERMS,
        chain_id=CHAIN_ID,
    )
    # The admin is a fresh wallet too: it signs in through the page (which makes its user),
    # then the DAO's creator has made it an admin (set here, in the database).
    admin_page, admin_wallet = another_person()
    sign_in(admin_page, admin_wallet)
    admin = User.objects.get(address=admin_wallet.address)
    Membership.objects.create(dao=dao, user=admin, role=Role.ADMIN)

    # The newcomer asks: the terms are signed now, kept with the request.
    sign_in(page, fresh_wallet, "/daos/bird-counts/")
    page.get_by_role("button", name="Request to join").click()
    expect(page.locator('.join-state[data-state="pending"]')).to_be_visible()
    newcomer = User.objects.get(address=fresh_wallet.address)
    request = JoinRequest.objects.get(dao=dao, user=newcomer)
    assert request.status == JoinRequestStatus.PENDING
    assert not Membership.objects.filter(dao=dao, user=newcomer).exists()

    # The admin, in the console: the pending request, approved with the list's action.
    admin_page.reload()
    admin_page.get_by_role("link", name="Console").click()
    admin_page.get_by_role("link", name="Join requests").first.click()
    rows = admin_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(fresh_wallet.address)
    expect(rows.first).to_contain_text("Pending")
    rows.first.get_by_role("checkbox").check()
    admin_page.get_by_label("Action:").select_option(
        label="Approve selected requests (they become contributors)"
    )
    tour_shot(
        admin_page, "journey-approve.png", height=250, start=admin_page.locator("#changelist-form")
    )
    admin_page.get_by_role("button", name="Go").click()
    expect(admin_page.locator(".messagelist .success")).to_have_text("1 request approved.")
    expect(admin_page.locator("#result_list tbody tr").first).to_contain_text("Approved")

    # The newcomer's page now says they are in, with the terms they signed.
    page.reload()
    expect(page.get_by_text("You are a contributor of this DAO")).to_be_visible()
    expect(page.locator("ul.acceptances")).to_contain_text(fresh_wallet.address)

    request.refresh_from_db()
    assert request.status == JoinRequestStatus.APPROVED and request.decided_by == admin
    assert Membership.objects.get(dao=dao, user=newcomer).role == Role.CONTRIBUTOR
    assert _signed_terms(newcomer, dao, fresh_wallet) == request.acceptance


# --- 3. A labeler labels ten digits from the keyboard --------------------------------------------

# One answer is done once its count is shown and the form is idle again.
ANSWERED_JS = """(n) => document.getElementById("done-total").textContent === String(n)
    && document.getElementById("label-form").getAttribute("aria-busy") === "false"
    && !document.getElementById("label-work").hidden"""


def test_a_labeler_labels_ten_digits_by_keyboard_alone_with_help_and_undo(
    page: Page, fresh_wallet: LocalAccount
) -> None:
    dao = DAOFactory(
        name="Digits", slug="digits", join_policy=JoinPolicy.OPEN, terms=TERMS, chain_id=CHAIN_ID
    )
    dataset = make_dataset(
        dao, labels=[str(d) for d in range(10)], item_kind="image", gold_rate=0.0
    )
    Dataset.objects.filter(pk=dataset.pk).update(name="Handwritten digits")
    dataset.refresh_from_db()
    # Handwritten digits 0-9 then 0, 1: two more than answered, so a next item always comes.
    digits = load_digits()
    truth: dict[str, str] = {}
    for i in range(12):
        pin = content_add(
            stream=io.BytesIO(digit_png(digits.images[i], scale=4)),
            label=f"labeling:{dataset.pk}",
            content_type="image/png",
        )
        LabelTask.objects.create(
            dataset=dataset, source_key=f"digit{i}", kind="image",
            payload={"cid": pin.cid, "media_type": "image/png"}, wanted=3,
        )  # fmt: skip
        truth[pin.cid] = str(digits.target[i])
    assert len(truth) == 12

    # Joining (the one click before the keyboard takes over), then to the labeling page.
    sign_in(page, fresh_wallet, "/daos/digits/")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_text("You are a contributor of this DAO")).to_be_visible()
    page.get_by_role("link", name=dataset.name).click()
    page.get_by_role("link", name="Start labeling").click()
    page.evaluate("window.__sameDocument = true")
    image = page.locator("#item-body img.item-image")
    expect(image).to_be_visible()
    pressed = page.locator('#label-choices button[aria-pressed="true"]')

    def shown() -> str:
        return (image.get_attribute("src") or "").rsplit("/", 1)[-1]

    def answer(digit: str, count: int) -> None:
        page.keyboard.press(digit)
        expect(pressed).to_have_attribute("value", digit)
        page.keyboard.press("Enter")
        page.wait_for_function(ANSWERED_JS, arg=count)

    # ? shows the keyboard help; the keys label while it is open, and ? hides it again.
    help_ = page.locator("#label-help")
    page.keyboard.press("?")
    expect(help_).to_have_attribute("open", "")
    expect(page.locator("#label-message")).to_have_text(
        "Keyboard help shown. Press ? or Escape to hide it."
    )
    expect(help_).to_contain_text("Undo")

    # The digit seen is the key typed; one slip (a wrong key) is taken back with U.
    typed: dict[str, str] = {}
    for n in range(10):  # n answers so far
        cid = shown()
        digit = truth[cid]
        if n == 4:
            slip = str((int(digit) + 5) % 10)
            answer(slip, n + 1)
            expect(page.locator("#label-message")).to_have_text(
                f"Saved “{slip}”. Next item loaded."
            )
            page.keyboard.press("U")
            expect(page.locator("#label-message")).to_have_text(
                "Your last answer was taken back. Answer this item again and press Enter."
            )
            page.wait_for_function(ANSWERED_JS, arg=n)
            assert shown() == cid  # the same item, its answer chosen again
            expect(pressed).to_have_attribute("value", slip)
            assert not Label.objects.filter(task__payload__cid=cid).exists()
        answer(digit, n + 1)
        typed[cid] = digit
        if n == 1:
            tour_shot(
                page, "journey-labeling-help.png", height=980, start=page.locator("#label-message")
            )
            page.keyboard.press("?")
            expect(help_).not_to_have_attribute("open", "")

    expect(page.locator("#done-today")).to_have_text("10")
    assert page.evaluate("window.__sameDocument") is True
    labeler = User.objects.get(address=fresh_wallet.address)
    stored = Label.objects.filter(labeler=labeler).select_related("task")
    assert {label.task.payload["cid"]: label.value for label in stored} == {
        cid: [digit] for cid, digit in typed.items()
    }
    assert len(typed) == 10  # ten different items (the two spare ones may be any of the 12)


# --- 4. A creator founds a DAO and pays its first member -----------------------------------------


def test_a_creator_founds_a_dao_invites_a_member_and_the_member_claims_from_the_contract(
    page: Page,
    fresh_wallet: LocalAccount,
    another_person: Callable[[], tuple[Page, LocalAccount]],
    celery_worker: WorkerProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)

    # Founding takes no permission but a signed-in wallet: "Found a DAO" in the header.
    sign_in(page, fresh_wallet)
    page.get_by_role("link", name="Found a DAO").click()
    page.get_by_label("Name:").fill("River Watch")
    page.get_by_label("Slug:").fill("river-watch")
    page.get_by_label("Token symbol:").fill("RIVER")
    page.get_by_label("Chain id:").fill(str(CHAIN_ID))
    page.get_by_label("Join policy:").select_option(JoinPolicy.INVITE)
    page.get_by_label("Contribution terms:").fill(TERMS)
    page.get_by_role("button", name="Create DAO").click()

    # The console's page of the new DAO, with its checklist; the creator sets the contract.
    dao = DAO.objects.get(slug="river-watch")
    creator = User.objects.get(address=fresh_wallet.address)
    assert dao.creator == creator
    checklist = page.locator("#dao-checklist")
    expect(checklist.locator("li.todo")).to_have_count(5)
    tour_shot(page, "journey-found.png", height=640)
    page.get_by_label("Reward contract address:").fill(DISTRIBUTOR)
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    dao.refresh_from_db()
    assert dao.reward_contract_address == DISTRIBUTOR

    # A dataset, its schema built in the form's rows.
    checklist.get_by_role("link", name="Add a dataset").click()
    page.get_by_label("Name:", exact=True).fill("Water levels")
    page.get_by_label("Slug:").fill("water-levels")
    page.get_by_label("License:").fill("CC-BY-4.0")
    for i, (name, col_type) in enumerate(
        [("station", "category"), ("level_cm", "int"), ("note", "string")]
    ):
        page.locator(f"[name=columns-{i}-name]").fill(name)
        page.locator(f"[name=columns-{i}-type]").select_option(col_type)
    page.locator("[name=columns-0-allowed]").fill("north\nsouth")
    page.locator("[name=columns-1-min]").fill("0")
    page.locator("[name=columns-1-max]").fill("1000")
    expect(page.get_by_label("the builder", exact=True)).to_be_checked()
    tour_shot(page, "journey-schema.png", height=520, start=page.locator("#schema-builder"))
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    dataset = Dataset.objects.get(dao=dao, slug="water-levels")
    assert dataset.schema == {
        "columns": [
            {"name": "station", "type": "category", "allowed": ["north", "south"]},
            {"name": "level_cm", "type": "int", "min": 0, "max": 1000},
            {"name": "note", "type": "string"},
        ]
    }

    # Opened for contributions from its page; then a reward policy, from the checklist.
    page.get_by_role("button", name="Open for contributions").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is now open")
    page.goto(f"/admin/datadao/dao/{dao.pk}/change/")
    checklist.get_by_role("link", name="Set a reward policy").click()
    page.get_by_label(re.compile(r"^Per contribution")).fill("5")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert int(RewardPolicy.objects.get(dataset=dataset).per_contribution) == 5 * 10**18

    # An invite link, shown once.
    page.goto(f"/admin/datadao/dao/{dao.pk}/change/")
    checklist.get_by_role("link", name="Invite members").click()
    page.get_by_label("Note:").fill("first member")
    page.get_by_role("button", name="Save", exact=True).click()
    shown_once = page.locator(".messagelist .warning")
    expect(shown_once).to_contain_text("Invite link (shown this once; copy it now)")
    invite_url = re.search(r"https?://\S+/invite/\S+", shown_once.inner_text())
    assert invite_url is not None
    page.goto(f"/admin/datadao/dao/{dao.pk}/change/")
    expect(checklist.locator("li.done")).to_have_count(5)

    # The member opens the link in their own browser, signs in, joins and contributes.
    member_page, member_wallet = another_person()
    sign_in(member_page, member_wallet, urlsplit(invite_url.group(0)).path)
    expect(member_page.get_by_role("heading", name="Invitation to River Watch")).to_be_visible()
    expect(member_page.get_by_text(TERMS)).to_be_visible()
    member_page.get_by_role("button", name="Join with this invite").click()
    # Joined, the member lands on the DAO's page (the single-use link is spent now).
    expect(member_page).to_have_url(re.compile(r"/daos/river-watch/$"))
    expect(member_page.get_by_text("You are a contributor of this DAO")).to_be_visible()
    expect(member_page.locator("ul.acceptances")).to_contain_text(member_wallet.address)
    member = User.objects.get(address=member_wallet.address)
    _signed_terms(member, dao, member_wallet)
    member_page.get_by_role("link", name="Water levels").click()
    rows = "station,level_cm,note\n" + "".join(
        f"{'north' if i % 2 else 'south'},{100 + i},\n" for i in range(8)
    )
    member_page.get_by_label("Files (drop them here or choose)").set_input_files(
        [{"name": "levels.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    member_page.get_by_role("button", name="Upload").click()
    upload = member_page.locator("#upload-list li", has_text="levels.csv")
    expect(upload).to_have_attribute("data-status", "pinned", timeout=SLOW_MS)

    # The creator reviews the epoch's allocations and closes it on the confirmation page.
    page.get_by_role("link", name="Epochs").first.click()
    page.get_by_role("link", name="Review and close").click()
    expect(page.locator("table.dd-allocations")).to_contain_text(member_wallet.address)
    expect(page.locator("table.dd-signed")).to_contain_text(DISTRIBUTOR)
    close = page.get_by_role("button", name="Close epoch 1")
    page.get_by_label(re.compile("I have checked the allocations")).check()
    tour_shot(page, "journey-epoch-close.png", height=780)
    close.click()
    expect(page.locator(".messagelist .success")).to_contain_text("closed")
    epoch = Epoch.objects.get(dao=dao, number=1)
    expect(page.locator("#content-main")).to_contain_text(epoch.root)

    # The member copies the claim: it names the DAO's contract.
    member_page.get_by_role("link", name="My rewards").click()
    member_page.wait_for_load_state("load")
    row = member_page.get_by_role("row").filter(has_text="River Watch")
    expect(row).to_contain_text(f"Claim from {DISTRIBUTOR} on chain {CHAIN_ID}")
    row.get_by_role("button", name="Copy", exact=True).click()
    expect(row.locator("button.copy")).to_have_text("Copied")
    tour_shot(member_page, "journey-claim.png", height=620)
    claim = json.loads(member_page.evaluate("navigator.clipboard.readText()"))

    assert epoch.status == EpochStatus.CLOSED
    assert epoch.signer == Account.from_key(REWARD_KEY).address
    assert recover_typed_data(epoch.root_typed_data, epoch.root_signature) == epoch.signer
    assert epoch.root_typed_data["message"]["root"] == epoch.root
    assert epoch.root_typed_data["domain"]["verifyingContract"] == DISTRIBUTOR
    assert epoch.root_typed_data["message"]["daoId"] == dao.onchain_id
    allocation = Allocation.objects.get(epoch=epoch, account=member_wallet.address)
    assert claim["contract"] == DISTRIBUTOR and claim["chainId"] == CHAIN_ID
    assert claim["account"] == member_wallet.address and claim["root"] == epoch.root
    assert claim["amount"] == str(allocation.amount) and allocation.amount > 0
    assert verify(epoch.root, member_wallet.address, int(allocation.amount), claim["proof"])
    assert Membership.objects.get(dao=dao, user=creator).role == Role.CREATOR
    assert InviteLink.objects.get(dao=dao).uses == 1
