"""Contributing from the dataset page: two files at once, each followed live to its end with
a real worker validating, scoring, attesting and pinning (embedded IPFS store)."""

from __future__ import annotations

import hashlib

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from contributions.models import Contribution, Status
from datadao.models import DatasetStatus, Membership, Role, User
from datadao.services import dataset_set_status
from ipfs.models import Pin
from tests.browser.conftest import SLOW_MS, sign_in
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory
from tests.fixtures_celery import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker]

BAD_CSV = b"id,value,kind\n1,5.5,a\n2,500,c\n"


def test_two_uploads_end_pinned_and_rejected_with_reasons_without_a_reload(
    page: Page, wallet: LocalAccount, wallet_user: User, celery_worker: WorkerProcess
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/")
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Files (drop them here or choose)").set_input_files(
        [
            {"name": "good.csv", "mimeType": "text/csv", "buffer": good_csv(20)},
            {"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV},
        ]
    )
    page.get_by_role("button", name="Upload").click()

    good = page.locator("#upload-list li", has_text="good.csv")
    bad = page.locator("#upload-list li", has_text="bad.csv")
    expect(good).to_have_attribute("data-status", "pinned", timeout=SLOW_MS)
    expect(bad).to_have_attribute("data-status", "rejected", timeout=SLOW_MS)
    assert page.evaluate("window.__sameDocument") is True

    pinned = Contribution.objects.get(contributor=wallet_user, status=Status.PINNED)
    assert pinned.cid and Pin.objects.filter(cid=pinned.cid).exists()
    expect(good.locator(".status")).to_have_text(f"pinned — CID {pinned.cid}")
    expect(good.get_by_role("progressbar")).to_have_attribute("value", "100")

    rejected = Contribution.objects.get(contributor=wallet_user, status=Status.REJECTED)
    assert rejected.cid == ""
    expect(bad.locator(".status")).to_have_text("rejected — " + "; ".join(rejected.reasons))
    expect(bad.locator(".status")).to_contain_text("row 2")
    expect(bad.locator(".status")).to_contain_text("'value'")


def test_a_file_signed_in_the_wallet_arrives_with_its_ownership_proven(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/")

    page.get_by_label("Sign each file with my wallet").check()
    page.get_by_label("Files (drop them here or choose)").set_input_files(
        [{"name": "signed.csv", "mimeType": "text/csv", "buffer": good_csv(5)}]
    )
    page.get_by_role("button", name="Upload").click()

    row = page.locator("#upload-list li", has_text="signed.csv")
    expect(row).to_have_attribute("data-status", "received")  # no worker here: it waits
    contribution = Contribution.objects.get(contributor=wallet_user)
    assert contribution.signed is True
    assert contribution.sha256 == hashlib.sha256(good_csv(5)).hexdigest()
