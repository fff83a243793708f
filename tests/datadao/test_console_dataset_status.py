"""Opening and closing a dataset from its own console page, through dataset_set_status."""

from __future__ import annotations

import pytest
from django.test import Client

from datadao.models import AuditEvent, Dataset, Membership, Role
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _status_url(dataset: Dataset) -> str:
    return f"/admin/datadao/dataset/{dataset.pk}/status/"


def test_the_page_offers_open_and_close_and_they_go_through_the_service() -> None:
    dataset = DatasetFactory()
    client = _as(dataset.dao.creator)
    page = client.get(f"/admin/datadao/dataset/{dataset.pk}/change/").content.decode()
    assert _status_url(dataset) in page
    assert "Open for contributions" in page and "Close dataset" in page  # a draft: both

    opened = client.post(_status_url(dataset), {"status": "open"}, follow=True)
    assert opened.redirect_chain[-1][0] == f"/admin/datadao/dataset/{dataset.pk}/change/"
    assert f"{dataset}"[1:] + " is now open." in opened.content.decode()  # capitalised
    assert Dataset.objects.get(pk=dataset.pk).status == "open"
    page = opened.content.decode()
    assert "Close dataset" in page and "Open for contributions</button>" not in page

    client.post(_status_url(dataset), {"status": "closed"})
    assert Dataset.objects.get(pk=dataset.pk).status == "closed"
    verbs = AuditEvent.objects.filter(verb="dataset.status_changed", object_id=str(dataset.pk))
    assert [e.details["to"] for e in verbs.order_by("pk")] == ["open", "closed"]


def test_the_services_refusals_are_messages_not_errors() -> None:
    dataset = DatasetFactory()
    client = _as(dataset.dao.creator)
    client.post(_status_url(dataset), {"status": "open"})
    back = client.post(_status_url(dataset), {"status": "draft"}, follow=True)
    assert back.status_code == 200
    assert "A dataset with status &#x27;open&#x27; cannot become &#x27;draft&#x27;" in (
        back.content.decode()
    )
    unknown = client.post(_status_url(dataset), {"status": "deleted"}, follow=True)
    assert "Unknown dataset status &#x27;deleted&#x27;" in unknown.content.decode()
    same = client.post(_status_url(dataset), {"status": "open"}, follow=True)
    assert "is already open" in same.content.decode()
    assert Dataset.objects.get(pk=dataset.pk).status == "open"
    assert client.get(_status_url(dataset)).status_code == 405


def test_another_daos_admin_and_a_validator_cannot_change_the_status() -> None:
    dataset = DatasetFactory()
    other = DAOFactory()
    assert _as(other.creator).post(_status_url(dataset), {"status": "open"}).status_code == 404
    reviewer = UserFactory()
    Membership.objects.create(dao=dataset.dao, user=reviewer, role=Role.REVIEWER)
    refused = _as(reviewer).post(_status_url(dataset), {"status": "open"})
    assert refused.status_code in (302, 403, 404)
    assert Dataset.objects.get(pk=dataset.pk).status == "draft"
    page = _as(other.creator).get(f"/admin/datadao/dataset/{dataset.pk}/change/")
    assert _status_url(dataset) not in page.content.decode()
