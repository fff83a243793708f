"""The console's synthetic job form: the method is a choice of what job_create runs."""

from __future__ import annotations

import pytest
from django.test import Client

from synthetic.models import Method, SyntheticJob
from synthetic.sample_tables import iris
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/synthetic/syntheticjob/add/"


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _form(dataset, method: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "dataset": dataset.pk,
        "method": method,
        "rows_wanted": 20,
        "seed": 0,
        "constraints": "[]",
        "conditions": "{}",
        "augment": "{}",
    }


def test_the_method_is_a_select_of_the_supported_methods() -> None:
    _, schema = iris()
    dataset = DatasetFactory(kind="tabular", schema=schema)
    client = _as(dataset.dao.creator)
    body = client.get(ADD).content.decode()
    assert '<select name="method"' in body
    for value in ("gan", "copula", "tvae", "auto", "augment"):
        assert f'<option value="{value}"' in body
    assert '<input type="text" name="method"' not in body
    assert set(Method.values) == {"gan", "copula", "tvae", "auto", "augment"}

    refused = client.post(ADD, _form(dataset, "gann"))
    assert refused.status_code == 200
    assert "Select a valid choice. gann is not one of the available choices." in (
        refused.content.decode()
    )
    assert not SyntheticJob.objects.exists()

    created = client.post(ADD, _form(dataset, "copula"))
    assert created.status_code == 302, created.content.decode()[-1500:]
    job = SyntheticJob.objects.get()
    assert job.method == "copula" and job.requested_by == dataset.dao.creator
    for method in ("tvae", "auto"):
        assert client.post(ADD, _form(dataset, method)).status_code == 302
    assert set(SyntheticJob.objects.values_list("method", flat=True)) == {
        "copula",
        "tvae",
        "auto",
    }

    # DP is refused for TVAE on the form, naming the problem; nothing is stored.
    refused = client.post(ADD, {**_form(dataset, "tvae"), "dp_epsilon": "1"}, follow=True)
    assert "only available with the method" in refused.content.decode()
    assert SyntheticJob.objects.count() == 3


def test_another_daos_admin_cannot_start_a_job_on_this_dataset() -> None:
    _, schema = iris()
    dataset = DatasetFactory(kind="tabular", schema=schema)
    other = DAOFactory()
    response = _as(other.creator).post(ADD, _form(dataset, "gan"))
    assert response.status_code == 200  # the form again: the dataset is not among the choices
    assert "Select a valid choice" in response.content.decode()
    assert not SyntheticJob.objects.exists()
