"""The founder's checklist on a DAO's console page: each first step is done or not as the
database says, and links to the console page where it is done."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from datadao.models import DAO, Dataset, DatasetStatus, Membership, Role, User
from datadao.selectors import SETUP_STEPS, dao_setup_steps
from rewards.models import RewardPolicy
from tests.factories import DAOFactory, UserFactory

pytestmark = pytest.mark.django_db


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _states(client: Client, dao: DAO) -> dict[str, tuple[bool, str]]:
    """Each step on the DAO's console page: (done, the link's address)."""
    page = client.get(f"/admin/datadao/dao/{dao.pk}/change/").content.decode()
    items = re.findall(
        r'<li class="checklist-item (done|todo)" data-step="(\w+)">.*?<a href="([^"]+)"',
        page,
        re.DOTALL,
    )
    return {key: (state == "done", html.unescape(url)) for state, key, url in items}


def _done(client: Client, dao: DAO) -> set[str]:
    return {key for key, (done, _) in _states(client, dao).items() if done}


def _found(client: Client) -> DAO:
    response = client.post(
        "/daos/new", {"name": "City Air", "slug": "city-air", "token_symbol": "AIR", "chain_id": 1}
    )
    dao = DAO.objects.get(slug="city-air")
    # The founder lands on the new DAO's console page, where the checklist is.
    assert response.status_code == 302
    assert response["Location"] == f"/admin/datadao/dao/{dao.pk}/change/"
    return dao


def test_a_fresh_dao_shows_every_step_undone_and_each_step_ticks_its_item() -> None:
    founder = UserFactory()
    client = _as(founder)
    dao = _found(client)
    states = _states(client, dao)
    assert list(states) == list(SETUP_STEPS)
    assert _done(client, dao) == set()
    assert states["dataset"][1] == f"/admin/datadao/dataset/add/?dao={dao.pk}"
    assert states["invite"][1] == f"/admin/datadao/invitelink/add/?dao={dao.pk}"

    # 1 + 2. A dataset, with a schema from the builder (a dataset always has a valid schema,
    # so both are ticked together).
    assert client.get(states["dataset"][1]).status_code == 200
    response = client.post(
        "/admin/datadao/dataset/add/",
        {
            "dao": dao.pk,
            "name": "Readings",
            "slug": "readings",
            "kind": "tabular",
            "license": "CC-BY-4.0",
            "visibility": "public",
            "schema_editor": "builder",
            "schema": "{}",
            "columns-TOTAL_FORMS": "1",
            "columns-INITIAL_FORMS": "0",
            "columns-0-name": "pm25",
            "columns-0-type": "float",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    dataset = Dataset.objects.get(dao=dao)
    states = _states(client, dao)
    assert _done(client, dao) == {"dataset", "schema"}
    assert states["schema"][1] == f"/admin/datadao/dataset/{dataset.pk}/change/"
    assert states["rewards"][1] == f"/admin/rewards/rewardpolicy/add/?dataset={dataset.pk}"

    # 3. A reward policy that pays nothing is not a reward policy yet.
    zero = {"dataset": dataset.pk, "per_contribution": "0", "per_label": "0"}
    assert client.post("/admin/rewards/rewardpolicy/add/", zero).status_code == 302
    policy = RewardPolicy.objects.get(dataset=dataset)
    states = _states(client, dao)
    assert not states["rewards"][0]
    assert states["rewards"][1] == f"/admin/rewards/rewardpolicy/{policy.pk}/change/"
    paying = {**zero, "per_contribution": "5"}
    response = client.post(f"/admin/rewards/rewardpolicy/{policy.pk}/change/", paying)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert _done(client, dao) == {"dataset", "schema", "rewards"}

    # 4. Opened with the dataset list's action, which the item links to.
    assert client.get(_states(client, dao)["open"][1]).status_code == 200
    client.post(
        "/admin/datadao/dataset/",
        {"action": "open_datasets", "_selected_action": [dataset.pk]},
    )
    assert Dataset.objects.get(pk=dataset.pk).status == DatasetStatus.OPEN
    assert _done(client, dao) == {"dataset", "schema", "rewards", "open"}

    # 5. An invite link.
    response = client.post(
        "/admin/datadao/invitelink/add/",
        {"dao": dao.pk, "note": "first members", "max_uses": 5, "valid_for_days": 7},
    )
    assert response.status_code == 302
    assert _done(client, dao) == set(SETUP_STEPS)


def test_a_member_who_joined_without_an_invite_ticks_the_invite_step() -> None:
    dao = DAOFactory()
    assert not dao_setup_steps(dao=dao)[-1].done
    Membership.objects.create(dao=dao, user=UserFactory(), role=Role.CONTRIBUTOR)
    assert dao_setup_steps(dao=dao)[-1].done


def test_a_dataset_whose_schema_the_validator_refuses_leaves_the_schema_step_undone() -> None:
    dao = DAOFactory()
    # Only possible around the services (data older than a rule): the step reads the validator.
    stale = Dataset.objects.create(
        dao=dao, name="Old", slug="old", kind="tabular", schema={"columns": []}, license="MIT"
    )
    steps = {step.key: step for step in dao_setup_steps(dao=dao)}
    assert steps["dataset"].done and not steps["schema"].done
    assert steps["schema"].dataset_id == stale.pk


def test_the_checklist_reads_in_a_fixed_number_of_queries(django_assert_num_queries: Any) -> None:
    dao = DAOFactory()
    for i in range(3):
        Dataset.objects.create(
            dao=dao,
            name=f"D{i}",
            slug=f"d{i}",
            kind="labeling",
            schema={"labels": ["a", "b"]},
            license="MIT",
        )
    with django_assert_num_queries(5):
        steps = dao_setup_steps(dao=dao)
    assert [s.done for s in steps] == [True, True, False, False, False]


def test_founding_in_the_console_lands_on_the_checklist_too() -> None:
    creator = DAOFactory().creator
    client = _as(creator)
    response = client.post(
        "/admin/datadao/dao/add/",
        {"name": "Gamma", "slug": "gamma", "token_symbol": "GAM", "chain_id": 1},
        follow=True,
    )
    gamma = DAO.objects.get(slug="gamma")
    assert response.redirect_chain[-1][0] == f"/admin/datadao/dao/{gamma.pk}/change/"
    page = response.content.decode()
    assert "Next steps" in page and page.count("☐ not done") == len(SETUP_STEPS)


def test_another_daos_checklist_is_not_shown() -> None:
    mine, theirs = DAOFactory(), DAOFactory()
    response = _as(mine.creator).get(f"/admin/datadao/dao/{theirs.pk}/change/", follow=True)
    assert response.redirect_chain == [("/admin/", 302)]
    page = response.content.decode()
    assert "Next steps" not in page and theirs.name not in page


def _as_the_page_sends_it(page: str) -> dict[str, str]:
    """Every field of a console form with the value the page shows (unticked boxes left out)."""
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind[1] == "submit"):
            continue
        if kind and kind[1] in ("checkbox", "radio") and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name[1]] = html.unescape(value[1]) if value else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        data[name] = html.unescape(text)
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        if chosen:
            data[name] = html.unescape(chosen[1])
    return data


@pytest.mark.parametrize("kind", ["tabular", "files", "labeling"])
@pytest.mark.parametrize("editor", ["builder", "json"])
def test_a_dataset_left_at_its_kinds_empty_schema_ticks_neither_step(
    kind: str, editor: str
) -> None:
    # The add page starts from the kind's empty schema (no column, media type or label): saved
    # untouched, with either editor, it stores nothing, and the schema step stays undone.
    founder = UserFactory()
    client = _as(founder)
    dao = _found(client)
    page = client.get(f"/admin/datadao/dataset/add/?kind={kind}&dao={dao.pk}").content.decode()
    form = _as_the_page_sends_it(page)
    form |= {"name": "Untouched", "slug": "untouched", "kind": kind, "license": "MIT"}
    form |= {"visibility": "public", "schema_editor": editor}
    response = client.post("/admin/datadao/dataset/add/", form)
    assert response.status_code == 200  # the form again, with the schema's faults
    assert "must be a" in response.content.decode()
    assert not Dataset.objects.filter(dao=dao).exists()
    assert _done(client, dao) == set()
