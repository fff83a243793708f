"""The console is scoped per DAO: asserted on the HTTP responses of the admin pages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from datadao.models import AuditEvent, Dataset, Membership, Role, User
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    dao_a = DAOFactory(name="Alpha Air", slug="alpha")
    dao_b = DAOFactory(name="Beta Bees", slug="beta")
    return {
        "a": dao_a,
        "b": dao_b,
        "ds_a": DatasetFactory(dao=dao_a, name="Alpha readings"),
        "ds_b": DatasetFactory(dao=dao_b, name="Beta secret counts"),
    }


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_creator_sees_only_their_dao(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    index = client.get("/admin/")
    assert index.status_code == 200
    for url in (
        "/admin/datadao/dataset/",
        "/admin/datadao/dao/",
        "/admin/datadao/membership/",
        "/admin/datadao/auditevent/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        body = page.content.decode()
        assert "Beta" not in body and world["b"].creator.address not in body, url
    datasets = client.get("/admin/datadao/dataset/").content.decode()
    assert "Alpha readings" in datasets


def test_creator_cannot_open_or_change_another_daos_objects(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    ds_b, dao_b = world["ds_b"], world["b"]
    for url in (
        f"/admin/datadao/dataset/{ds_b.pk}/change/",
        f"/admin/datadao/dao/{dao_b.pk}/change/",
        f"/admin/datadao/membership/{Membership.objects.get(dao=dao_b).pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/admin/", url
        assert "Beta" not in client.get(response["Location"]).content.decode()
    response = client.post(
        f"/admin/datadao/dataset/{ds_b.pk}/change/",
        {
            "name": "pwned",
            "schema": json.dumps(ds_b.schema),
            "license": "MIT",
            "visibility": "public",
            "description": "",
        },
    )
    assert response.status_code == 302
    ds_b.refresh_from_db()
    assert ds_b.name == "Beta secret counts"
    assert client.get(f"/admin/datadao/dataset/{ds_b.pk}/delete/").status_code in (302, 403)
    assert Dataset.objects.filter(pk=ds_b.pk).exists()


def test_creator_cannot_add_a_dataset_to_another_dao(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    form = client.get("/admin/datadao/dataset/add/").content.decode()
    assert "Alpha Air" in form and "Beta Bees" not in form
    response = client.post(
        "/admin/datadao/dataset/add/",
        {
            "dao": world["b"].pk,
            "name": "Sneaky",
            "slug": "sneaky",
            "kind": "tabular",
            "schema": json.dumps({"columns": [{"name": "a", "type": "int"}]}),
            "license": "MIT",
            "visibility": "public",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Dataset.objects.filter(slug="sneaky").exists()


def test_schema_editor_rejects_invalid_schema_with_a_message(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    ds = world["ds_a"]
    bad = {"columns": [{"name": "age", "type": "int", "min": 10, "max": 1}]}
    response = client.post(
        f"/admin/datadao/dataset/{ds.pk}/change/",
        {
            "name": ds.name,
            "schema": json.dumps(bad),
            "license": "MIT",
            "visibility": "public",
            "description": "",
        },
    )
    assert response.status_code == 200
    assert "columns[0].min: 10 is greater than max 1" in response.content.decode()
    response = client.post(
        f"/admin/datadao/dataset/{ds.pk}/change/",
        {"name": ds.name, "schema": "{not json", "license": "MIT", "visibility": "public"},
    )
    assert response.status_code == 200 and "Enter a valid JSON" in response.content.decode()
    ds.refresh_from_db()
    assert ds.schema != bad

    good = {"columns": [{"name": "age", "type": "int", "min": 0, "max": 150}]}
    response = client.post(
        f"/admin/datadao/dataset/{ds.pk}/change/",
        {
            "name": ds.name,
            "schema": json.dumps(good),
            "license": "mit",
            "visibility": "members",
            "description": "now with ages",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ds.refresh_from_db()
    assert ds.schema == good and ds.license == "MIT" and ds.visibility == "members"
    assert AuditEvent.objects.filter(verb="dataset.updated", object_id=str(ds.pk)).exists()


def test_creator_adds_a_member_by_address_and_cannot_demote_the_last_creator(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    newcomer = UserFactory.build().address
    response = client.post(
        "/admin/datadao/membership/add/",
        {"dao": world["a"].pk, "role": Role.REVIEWER, "address": newcomer.lower()},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__address=newcomer).role == Role.REVIEWER
    creator_row = Membership.objects.get(dao=world["a"], role=Role.CREATOR)
    response = client.post(
        f"/admin/datadao/membership/{creator_row.pk}/change/", {"role": Role.CONTRIBUTOR}
    )
    assert response.status_code == 200
    assert "at least one member with role" in response.content.decode()
    creator_row.refresh_from_db()
    assert creator_row.role == Role.CREATOR


def test_creator_founds_a_second_dao_in_the_console(world) -> None:  # type: ignore[no-untyped-def]
    creator = world["a"].creator
    response = _as(creator).post(
        "/admin/datadao/dao/add/",
        {
            "name": "Gamma",
            "slug": "gamma",
            "token_symbol": "GAM",
            "chain_id": 1,
            "description": "",
            "reward_contract_address": "",
        },
    )
    assert response.status_code == 302
    assert Membership.objects.get(dao__slug="gamma").user == creator


def test_contributors_and_strangers_are_kept_out(world) -> None:  # type: ignore[no-untyped-def]
    contributor = UserFactory()
    Membership.objects.create(user=contributor, dao=world["a"], role=Role.CONTRIBUTOR)
    for client in (_as(contributor), Client()):
        response = client.get("/admin/datadao/dataset/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_creators_do_not_see_users_or_workers(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["a"].creator)
    assert client.get("/admin/datadao/user/").status_code == 403
    assert client.get("/admin/datadao/workerheartbeat/").status_code == 403


def test_superuser_sees_everything_and_staff_password_login_works(world) -> None:  # type: ignore[no-untyped-def]
    admin_user = User.objects.create_superuser(UserFactory.build().address, "s3cret-Pass-9")
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": admin_user.address, "password": "s3cret-Pass-9"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    body = client.get("/admin/datadao/dataset/").content.decode()
    assert "Alpha readings" in body and "Beta secret counts" in body
    assert client.get("/admin/datadao/user/").status_code == 200
