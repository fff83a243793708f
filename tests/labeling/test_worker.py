"""End to end through a real Celery worker and the embedded IPFS store: a text contribution
to a labeling dataset becomes a task; its labels settle it; a whole-dataset run completes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contributions.models import Contribution, Status
from datadao.models import Dataset
from labeling import services
from labeling.models import ConsensusRun, LabelImport, LabelTask, RunStatus, TaskStatus
from rewards.models import RewardEntry, RewardPolicy
from tests.fixtures_celery import start_worker, wait_for
from tests.labeling.conftest import login, make_labelers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_contribution_to_settled_task_through_a_worker(
    ldataset, admin_user, tmp_path: Path, settings
):
    # A task settles once its newest label is past the undo window: a short one here (in
    # this process, which queues the settle, and in the worker, which checks it).
    settings.LABEL_UNDO_SECONDS = 1
    RewardPolicy.objects.create(dataset=ldataset, per_label=500)
    # A one-line unsigned text scores low on quality and ownership; this test is about
    # labeling, not about the acceptance threshold.
    Dataset.objects.filter(pk=ldataset.pk).update(scoring={"threshold": 1000})
    labelers = make_labelers(ldataset.dao, 3)
    worker = start_worker(tmp_path, extra_env={"LABEL_UNDO_SECONDS": "1"})
    try:
        client = login(labelers[0])
        upload = client.post(
            f"/api/datasets/{ldataset.pk}/contributions",
            {"file": SimpleUploadedFile("a.txt", b"A small brown bird on a wire.\n")},
        )
        assert upload.status_code == 201, upload.content
        pk = upload.json()["id"]
        wait_for(
            lambda: Contribution.objects.filter(
                pk=pk, status__in=[Status.PINNED, Status.REJECTED, Status.FAILED]
            ).exists(),
            timeout=180,
            what="the contribution to be final",
            worker=worker,
        )
        contribution = Contribution.objects.get(pk=pk)
        assert contribution.status == Status.PINNED, (contribution.status, contribution.reasons)
        task = LabelTask.objects.get(dataset=ldataset, contribution_id=pk)
        assert task.payload["text"].startswith("A small brown bird")
        for user in labelers:
            hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
            services.label_submit(
                dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="bird"
            )
        wait_for(
            lambda: LabelTask.objects.filter(pk=task.pk, status=TaskStatus.COMPLETE).exists(),
            timeout=30,
            what="the task to settle",
            worker=worker,
        )
        assert RewardEntry.objects.filter(source_type="labeling.label").count() == 3
        body = "id,text\n" + "".join(f"r{i},row text {i}\n" for i in range(500))
        file = io.BytesIO(body.encode())
        file.name = "bulk.csv"
        job = login(admin_user).post(f"/api/labeling/{ldataset.pk}/imports", {"file": file})
        assert job.status_code == 202
        wait_for(
            lambda: LabelImport.objects.filter(pk=job.json()["id"], status="done").exists(),
            timeout=30,
            what="the import to finish",
            worker=worker,
        )
        assert (
            LabelTask.objects.filter(dataset=ldataset, source_key__startswith="id:r").count() == 500
        )
        run = services.consensus_run_request(dataset_id=ldataset.pk, actor=admin_user)
        wait_for(
            lambda: ConsensusRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists(),
            timeout=30,
            what="the consensus run",
            worker=worker,
        )
    finally:
        worker.stop()


def test_a_spans_contribution_settles_by_span_consensus_through_a_worker(
    ldao, admin_user, tmp_path: Path, settings
):
    """A typed dataset end to end through the worker: a text contribution becomes a spans
    item, three labelers mark it (one misses a name), and the worker settles it with the span
    aggregator's answer and pays each label."""
    from tests.labeling.conftest import make_dataset

    settings.LABEL_UNDO_SECONDS = 1
    dataset = make_dataset(
        ldao, task="spans", labels=["PER", "LOC"], overlap=3, max_overlap=3, confidence_target=0.6
    )
    RewardPolicy.objects.create(dataset=dataset, per_label=500)
    Dataset.objects.filter(pk=dataset.pk).update(scoring={"threshold": 1000})
    labelers = make_labelers(ldao, 3)
    text = "Ada flew from Lagos to Paris today.\n"
    worker = start_worker(tmp_path, extra_env={"LABEL_UNDO_SECONDS": "1"})
    try:
        upload = login(labelers[0]).post(
            f"/api/datasets/{dataset.pk}/contributions",
            {"file": SimpleUploadedFile("note.txt", text.encode())},
        )
        assert upload.status_code == 201, upload.content
        pk = upload.json()["id"]
        wait_for(
            lambda: LabelTask.objects.filter(dataset=dataset, contribution_id=pk).exists(),
            timeout=180,
            what="the contribution's item",
            worker=worker,
        )
        task = LabelTask.objects.get(dataset=dataset, contribution_id=pk)
        assert task.payload["text"] == text
        truth = [[0, 3, "PER"], [14, 19, "LOC"], [23, 28, "LOC"]]
        answers = [truth, truth, truth[:2]]
        for user, answer in zip(labelers, answers, strict=True):
            hold = services.task_next(dataset_id=dataset.pk, labeler=user)
            assert hold is not None and hold.task_id == task.pk
            services.label_submit(
                dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=answer
            )
        wait_for(
            lambda: LabelTask.objects.filter(pk=task.pk, status=TaskStatus.COMPLETE).exists(),
            timeout=60,
            what="the item to settle",
            worker=worker,
        )
        task.refresh_from_db()
        assert [(s["start"], s["end"], s["label"]) for s in task.consensus] == [
            (0, 3, "PER"), (14, 19, "LOC"), (23, 28, "LOC"),
        ]  # fmt: skip
        assert all(0 < s["score"] <= 1 for s in task.consensus)
        assert RewardEntry.objects.filter(source_type="labeling.label").count() == 3
    finally:
        worker.stop()


def test_prelabels_import_through_a_worker(ldataset, admin_user, tmp_path: Path):
    """A pre-label import queued on the API is read by a real worker from the shared store,
    and the next hand-out carries the suggestion."""
    Dataset.objects.filter(pk=ldataset.pk).update(schema={**ldataset.schema, "suggestion_rate": 1})
    items = LabelTask.objects.bulk_create(
        LabelTask(dataset=ldataset, source_key=f"id:w{i}", kind="text", payload={"text": f"w{i}"})
        for i in range(3)
    )
    body = "".join(f'{{"external_id": "w{i}", "prediction": "dog"}}\n' for i in range(3))
    file = io.BytesIO((body + '{"external_id": "w9", "prediction": "dog"}\n').encode())
    file.name = "pre.jsonl"
    worker = start_worker(tmp_path)
    try:
        job = login(admin_user).post(
            f"/api/labeling/{ldataset.pk}/imports", {"file": file, "kind": "predictions"}
        )
        assert job.status_code == 202, job.content
        wait_for(
            lambda: LabelImport.objects.filter(pk=job.json()["id"], status="done").exists(),
            timeout=60,
            what="the pre-label import to finish",
            worker=worker,
        )
    finally:
        worker.stop()
    done = LabelImport.objects.get(pk=job.json()["id"])
    assert (done.rows_created, done.errors) == (
        3,
        ["line 4: no item with external_id 'w9' in this dataset"],
    )
    assert LabelTask.objects.filter(pk__in=[t.pk for t in items], prediction=["dog"]).count() == 3
    (labeler,) = make_labelers(ldataset.dao, 1)
    task = login(labeler).get(f"/api/labeling/{ldataset.pk}/next").json()["task"]
    assert task["suggestion"] == {"value": ["dog"], "model_version": "", "score": None}
