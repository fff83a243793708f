"""The DAO creator's console in the browser: edit a schema, read the dashboard's charts,
resolve a flagged near-duplicate. Every step is a real request made by the page, signed in
with the wallet that founded the DAO."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from console.dashboard import DEFAULT_WINDOW
from contributions.models import Contribution, Review, Status
from datadao.models import AuditEvent, Dataset, DatasetStatus, User
from datadao.services import dataset_set_status
from tests.browser.conftest import sign_in
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.browser

NOTE_COLUMN = {"name": "note", "type": "string", "max_length": 200}


def _contribution(dataset: Dataset, n: int, *, days_ago: int, **fields: object) -> Contribution:
    at = timezone.now() - dt.timedelta(days=days_ago)
    return Contribution.objects.create(
        dataset=dataset,
        contributor=fields.pop("contributor", None) or UserFactory(),
        sha256=f"{n:064x}",
        size=100,
        storage_name=f"console-{n}",
        original_name=f"readings-{n}.csv",
        created_at=at,
        status_changed_at=at,
        **fields,
    )


def _seed(dataset: Dataset) -> Contribution:
    """Pinned contributions over three days and one near-duplicate waiting for review."""
    originals = [
        _contribution(
            dataset,
            n,
            days_ago=n % 3,
            status=Status.PINNED,
            cid=f"bafkreiconsole{n}",
            score=6000 + 500 * n,
            quality=8000,
            uniqueness=10000,
        )
        for n in range(6)
    ]
    return _contribution(
        dataset,
        99,
        days_ago=0,
        status=Status.REJECTED,
        score=7000,
        review=Review.PENDING,
        near_duplicate_of=originals[0],
        reasons=[
            f"Near-duplicate of contribution #{originals[0].pk} by another contributor; "
            "flagged for the DAO's review."
        ],
    )


def test_a_creator_edits_a_schema_reads_the_dashboard_and_resolves_a_review(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(creator=wallet_user, name="Sensor Commons", slug="sensor-commons")
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, name="Readings", kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    flagged = _seed(dataset)

    # The console link appears once signed in as the DAO's creator.
    sign_in(page, wallet)
    page.get_by_role("link", name="Console").click()
    expect(page.get_by_role("heading", name="Your DAOs")).to_be_visible()

    # Edit the schema in the dataset's change form: one column more, saved through the service.
    page.get_by_role("link", name="Datasets", exact=True).first.click()
    page.get_by_role("link", name="Readings").click()
    schema = {**CSV_SCHEMA, "columns": [*CSV_SCHEMA["columns"], NOTE_COLUMN]}
    # Typing in the JSON chooses it as what is saved (the builder above is the other way).
    page.get_by_label("Advanced: edit JSON:").fill(json.dumps(schema, indent=2))
    expect(page.get_by_label("the JSON", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    dataset.refresh_from_db()
    assert dataset.schema["columns"][-1] == NOTE_COLUMN
    edit = AuditEvent.objects.get(verb="dataset.updated", object_id=str(dataset.pk))
    assert edit.actor == wallet_user
    assert edit.details["schema"] == [CSV_SCHEMA, schema]

    # The dashboard, reached from the console: its SVG charts are drawn from the seeded data.
    page.get_by_role("link", name="DAO dashboards").first.click()
    expect(page).to_have_url(f"{page.url.split('/admin/')[0]}/admin/dashboard/{dao.slug}/")
    charts = page.locator("svg[role=img]")
    expect(charts).to_have_count(3)  # per day by status, scores, rewards (no labeling dataset)
    for i in range(3):
        expect(charts.nth(i)).to_be_visible()
    per_day = page.locator("#chart-contributions g.bar")
    expect(per_day).to_have_count(DEFAULT_WINDOW)  # one bar a day, today last
    drawn = [int(per_day.nth(i).get_attribute("data-total") or 0) for i in range(DEFAULT_WINDOW)]
    assert drawn[-3:] == [2, 2, 3] and sum(drawn) == 7  # today: two pinned and the flagged one
    today = per_day.last.locator("rect[data-series=pinned]")
    expect(today).to_have_attribute("data-value", "2")
    assert today.bounding_box()["height"] > 0  # type: ignore[index]
    scores = page.locator("#chart-scores g.bar")
    binned = [int(scores.nth(i).get_attribute("data-value") or 0) for i in range(scores.count())]
    assert sum(binned) == 7  # every scored contribution, the flagged one included
    expect(page.locator("#card-review .dd-n")).to_have_text("1")

    # The review queue: the flagged near-duplicate, next to the one it resembles; confirm it.
    page.locator("#card-review").get_by_role("link", name="flagged for review").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{flagged.near_duplicate_of_id}")
    rows.first.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Confirm rejection of flagged near-duplicates")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist .success")).to_have_text("1 contribution updated.")
    expect(page.locator("#result_list tbody tr")).to_have_count(0)

    flagged.refresh_from_db()
    assert flagged.review == Review.CONFIRMED and flagged.status == Status.REJECTED
    decision = AuditEvent.objects.get(verb="contribution.override_confirm")
    assert decision.actor == wallet_user and decision.dao == dao
    assert decision.object_id == str(flagged.pk)
    assert decision.details["from"] == decision.details["to"] == Status.REJECTED


def test_a_founder_follows_the_checklist_and_builds_a_schema_with_the_builder(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(creator=wallet_user, name="Bird Counts", slug="bird-counts")
    sign_in(page, wallet)
    page.goto(f"/admin/datadao/dao/{dao.pk}/change/")
    checklist = page.locator("#dao-checklist")
    expect(checklist.locator("li.todo")).to_have_count(5)
    checklist.get_by_role("link", name="Add a dataset").click()

    page.get_by_label("Name:", exact=True).fill("Sightings")
    page.get_by_label("Slug:").fill("sightings")
    page.get_by_label("License:").fill("CC-BY-4.0")
    # Only the chosen kind's builder shows; switching kind swaps the JSON's starting schema.
    builder = page.locator("#schema-builder")
    expect(builder.locator("[data-schema-kind=tabular]")).to_be_visible()
    expect(builder.locator("[data-schema-kind=labeling]")).to_be_hidden()
    page.get_by_label("Kind:", exact=True).select_option("labeling")
    expect(builder.locator("[data-schema-kind=labeling]")).to_be_visible()
    expect(builder.locator("[data-schema-kind=tabular]")).to_be_hidden()
    assert json.loads(page.get_by_label("Advanced: edit JSON:").input_value()) == {"labels": []}
    page.get_by_label("Kind:", exact=True).select_option("tabular")

    # Three spare rows, and a button for a fourth.
    for i, (name, col_type) in enumerate(
        [("species", "category"), ("count", "int"), ("seen_at", "datetime"), ("note", "string")]
    ):
        if i == 3:
            page.get_by_role("button", name="Add a column").click()
        page.locator(f"[name=columns-{i}-name]").fill(name)
        page.locator(f"[name=columns-{i}-type]").select_option(col_type)
    page.locator("[name=columns-0-allowed]").fill("robin\nwren")
    page.locator("[name=columns-1-min]").fill("5")
    page.locator("[name=columns-1-max]").fill("1")
    expect(page.get_by_label("the builder", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    # The bad bound is named at the top and next to its input; nothing was stored.
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("ul.errorlist.nonfield")).to_contain_text(
        "Column 2 'count': columns[1].min: 5 is greater than max 1"
    )
    expect(page.locator("#id_columns-1-min_error")).to_contain_text("5 is greater than max 1")
    assert not Dataset.objects.filter(slug="sightings").exists()
    page.locator("[name=columns-1-max]").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert Dataset.objects.get(slug="sightings").schema == {
        "columns": [
            {"name": "species", "type": "category", "allowed": ["robin", "wren"]},
            {"name": "count", "type": "int", "min": 5},
            {"name": "seen_at", "type": "datetime"},
            {"name": "note", "type": "string"},
        ]
    }
    page.goto(f"/admin/datadao/dao/{dao.pk}/change/")
    expect(checklist.locator("li.done")).to_have_count(2)
