"""A refused upload looks like a failure: red, with the server's reason; the dataset's counts
update while the page stays open."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from contributions.models import Contribution, Status
from datadao.models import DatasetStatus, Membership, Role, User
from datadao.services import dataset_set_status
from tests.browser.conftest import sign_in
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.browser

RED = "rgb(179, 38, 30)"  # --error in site.css


def test_a_refused_file_is_red_with_its_reason_and_counts_update_without_a_reload(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=wallet_user, role=Role.CONTRIBUTOR)
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA | {"max_size": 64}),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    sign_in(page, wallet, f"/daos/{dao.slug}/{dataset.slug}/")
    page.evaluate("window.__sameDocument = true")

    big = b"id,value,kind\n" + b"1,5.5,a\n" * 40  # over the dataset's 64-byte limit
    page.get_by_label("Files (drop them here or choose)").set_input_files(
        [{"name": "big.csv", "mimeType": "text/csv", "buffer": big}]
    )
    page.get_by_role("button", name="Upload").click()

    row = page.locator("#upload-list li", has_text="big.csv")
    expect(row).to_have_attribute("data-status", "refused")
    status = row.locator(".status")
    # The API's {"error", "detail"} answer: its detail, not a bare status code.
    expect(status).to_have_text(
        "refused — The file is larger than this dataset's limit of 64 bytes."
    )
    expect(status).to_have_css("color", RED)
    expect(status).to_have_attribute("role", "alert")
    assert not Contribution.objects.filter(dataset=dataset).exists()

    # Someone else's contribution arrives: the counts change on the open page.
    counts = page.locator("#dataset-counts")
    expect(counts).to_contain_text("Received: 0")
    Contribution.objects.create(
        dataset=dataset, contributor=UserFactory(), sha256="d" * 64, size=1,
        storage_name="browser-counted", status=Status.RECEIVED,
    )  # fmt: skip
    expect(counts).to_contain_text("Received: 1", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True


def test_a_contributions_page_follows_its_status_live(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dataset = DatasetFactory(kind="tabular", schema=CSV_SCHEMA)
    contribution = Contribution.objects.create(
        dataset=dataset, contributor=wallet_user, sha256="c" * 64, size=10,
        storage_name="browser-live", original_name="live.csv", status=Status.VALIDATING,
    )  # fmt: skip
    sign_in(page, wallet)
    page.goto(f"/me/contributions/{contribution.pk}")
    page.evaluate("window.__sameDocument = true")
    status = page.locator("#contribution-live .status")
    expect(status).to_contain_text("Being validated and scored.")
    Contribution.objects.filter(pk=contribution.pk).update(
        status=Status.REJECTED, score=1000, reasons=["1 of 1 rows are invalid"]
    )
    expect(status).to_contain_text("Rejected: it is not part of the dataset.", timeout=15_000)
    expect(status).to_have_css("color", RED)
    expect(page.locator("#contribution-live")).to_contain_text("Below the threshold")
    assert page.evaluate("window.__sameDocument") is True
