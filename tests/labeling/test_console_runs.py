"""Run consensus from the console (a labeling dataset's page, the runs list) and read a run's
metrics as tables."""

from __future__ import annotations

import pytest

from datadao.models import Membership, Role
from labeling import services, tasks
from labeling.admin import metrics_html
from labeling.models import ConsensusRun, LabelTask
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.labeling.conftest import age_labels, login, make_dataset, make_tasks

pytestmark = pytest.mark.django_db

RUN = "/admin/labeling/consensusrun/run/"


def _label_all(dataset, users, value):  # type: ignore[no-untyped-def]
    for user in users:
        while (hold := services.task_next(dataset_id=dataset.pk, labeler=user)) is not None:
            services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)


def test_the_dataset_page_runs_consensus_and_the_run_shows_metric_tables(ldataset, labelers):
    make_tasks(ldataset, 3)
    _label_all(ldataset, labelers[:3], "dog")
    age_labels()
    client = login(ldataset.dao.creator)
    page = client.get(f"/admin/datadao/dataset/{ldataset.pk}/change/").content.decode()
    assert RUN in page and "Run consensus" in page and "Run majority vote" in page

    response = client.post(RUN, {"dataset": ldataset.pk, "method": "ds"}, follow=True)
    run = ConsensusRun.objects.get(dataset=ldataset)
    assert run.requested_by == ldataset.dao.creator and run.method == "ds"
    assert response.redirect_chain[-1][0] == f"/admin/labeling/consensusrun/{run.pk}/change/"
    assert f"Consensus run {run.pk} (Dawid–Skene)" in response.content.decode()

    tasks.run_consensus(run.pk)
    run.refresh_from_db()
    assert run.status == "done"
    body = client.get(f"/admin/labeling/consensusrun/{run.pk}/change/").content.decode()
    assert '<table class="dd-metrics">' in body
    assert "<th scope='row'>alpha</th>" in body and "<th scope='row'>priors</th>" in body
    assert "<th scope='row'>dog</th>" in body  # priors named by the schema's labels
    assert '"priors"' not in body and "{&quot;" not in body  # not raw JSON
    assert LabelTask.objects.filter(dataset=ldataset).exclude(consensus=None).count() == 3


def test_the_runs_list_offers_the_managers_labeling_datasets(ldataset):
    other = make_dataset(DAOFactory())
    tabular = DatasetFactory(dao=ldataset.dao)
    body = login(ldataset.dao.creator).get("/admin/labeling/consensusrun/").content.decode()
    assert f'<option value="{ldataset.pk}">' in body
    assert f'<option value="{other.pk}">' not in body
    assert f'<option value="{tabular.pk}">' not in body
    response = login(ldataset.dao.creator).post(RUN, {"dataset": ldataset.pk, "method": "mv"})
    run = ConsensusRun.objects.get(dataset=ldataset)
    assert response.status_code == 302 and run.method == "mv"


def test_refusals(ldataset):
    client = login(ldataset.dao.creator)
    bad = client.post(RUN, {"dataset": ldataset.pk, "method": "best"}, follow=True)
    assert "Unknown method &#x27;best&#x27;: use &#x27;ds&#x27; or &#x27;mv&#x27;" in (
        bad.content.decode()
    )
    missing = client.post(RUN, {"method": "ds"}, follow=True)
    assert "Choose a labeling dataset to run." in missing.content.decode()
    tabular = DatasetFactory(dao=ldataset.dao)
    assert client.post(RUN, {"dataset": tabular.pk}).status_code == 404
    assert client.get(RUN).status_code == 405
    other = DAOFactory()
    assert login(other.creator).post(RUN, {"dataset": ldataset.pk}).status_code == 404
    member = UserFactory()
    Membership.objects.create(dao=ldataset.dao, user=member, role=Role.CONTRIBUTOR)
    assert login(member).post(RUN, {"dataset": ldataset.pk}).status_code == 302  # to login
    assert not ConsensusRun.objects.exists()


def test_metric_values_are_escaped():
    html = metrics_html({"<b>key</b>": "<script>x</script>", "alpha": 0.123456}, labels=[])
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;key" in html
    assert "<td>0.1235</td>" in html
