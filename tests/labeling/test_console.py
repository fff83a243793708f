"""Console pages for labeling (DAO-scoped) and the labeling part of the dataset page."""

from __future__ import annotations

import io

import pytest

from labeling import services, tasks
from labeling.models import ConsensusRun, LabelerStats, LabelImport, LabelTask
from tests.factories import DAOFactory
from tests.labeling.conftest import age_labels, login, make_dataset, make_gold, make_tasks

pytestmark = pytest.mark.django_db


def _label_all(dataset, users, value):  # type: ignore[no-untyped-def]
    for user in users:
        while (hold := services.task_next(dataset_id=dataset.pk, labeler=user)) is not None:
            services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)


def test_tasks_are_scoped_to_the_managers_daos(ldataset):
    (mine,) = make_tasks(ldataset, 1)
    other = make_dataset(DAOFactory())
    (theirs,) = make_tasks(other, 1, start=100)
    body = login(ldataset.dao.creator).get("/admin/labeling/labeltask/").content.decode()
    assert f"/admin/labeling/labeltask/{mine.pk}/change/" in body
    assert f"/admin/labeling/labeltask/{theirs.pk}/change/" not in body


def test_import_from_the_console(ldataset):
    upload = io.BytesIO(b"id,text\nx1,first\nx2,second\n")
    upload.name = "items.csv"
    client = login(ldataset.dao.creator)
    response = client.post(
        "/admin/labeling/labelimport/add/", {"dataset": ldataset.pk, "upload": upload}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = LabelImport.objects.get()
    assert job.created_by == ldataset.dao.creator and job.status == "queued"
    tasks.import_items(job.pk)
    assert LabelTask.objects.filter(dataset=ldataset).count() == 2
    empty = io.BytesIO(b"")
    empty.name = "empty.csv"
    refused = client.post(
        "/admin/labeling/labelimport/add/", {"dataset": ldataset.pk, "upload": empty}
    )
    assert refused.status_code == 200 and "The submitted file is empty" in refused.content.decode()


def test_mark_gold_and_run_consensus_actions(ldataset, labelers):
    make_tasks(ldataset, 2)
    _label_all(ldataset, labelers[:3], "dog")
    age_labels()
    for task in LabelTask.objects.all():
        services.task_consensus_update(task_id=task.pk)
    client = login(ldataset.dao.creator)
    ids = list(LabelTask.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/labeling/labeltask/",
        {"action": "mark_gold", "_selected_action": ids[:1]},
    )
    assert response.status_code == 302
    assert LabelTask.objects.get(pk=ids[0]).gold == ["dog"]
    client.post("/admin/labeling/labeltask/", {"action": "run_consensus", "_selected_action": ids})
    run = ConsensusRun.objects.get(dataset=ldataset)
    assert run.requested_by == ldataset.dao.creator and run.method == "ds"


def test_resume_action(ldataset, labelers):
    from django.utils import timezone

    stats = LabelerStats.objects.create(
        dataset=ldataset, labeler=labelers[0], paused_at=timezone.now(), paused_reason="x"
    )
    login(ldataset.dao.creator).post(
        "/admin/labeling/labelerstats/", {"action": "resume", "_selected_action": [stats.pk]}
    )
    assert LabelerStats.objects.get(pk=stats.pk).paused_at is None


def test_dataset_page_shows_agreement_after_a_run(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.5)
    make_tasks(dataset, 8)
    make_gold(dataset, ["cat", "dog", "cat", "dog"])
    url = f"/daos/{dataset.dao.slug}/{dataset.slug}/"
    assert "No consensus has been computed yet" in login(labelers[0]).get(url).content.decode()
    _label_all(dataset, labelers[:4], "cat")
    run = services.consensus_run_request(dataset_id=dataset.pk, actor=None)
    tasks.run_consensus(run.pk)
    body = login(labelers[0]).get(url).content.decode()
    assert "Krippendorff" in body and "Fleiss" in body
    assert "Answers to check questions" in body
