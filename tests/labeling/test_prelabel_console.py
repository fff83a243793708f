"""Pre-labels in the console: imported from the label-import page, their figures on the
dataset page, each labeler's acceptance rate in the labeler stats."""

from __future__ import annotations

import io
import json

import pytest

from labeling import services, tasks
from labeling.models import LabelImport, LabelTask
from tests.labeling.conftest import login, make_dataset, make_labelers, make_tasks

pytestmark = pytest.mark.django_db


def test_prelabels_imported_from_the_console_and_shown_on_the_dataset_page(ldao):
    dataset = make_dataset(ldao, suggestion_rate=1.0)
    items = make_tasks(dataset, 25)
    client = login(dataset.dao.creator)
    lines = "".join(
        json.dumps({"id": t.pk, "prediction": "cat", "model_version": "v1"}) + "\n" for t in items
    )
    upload = io.BytesIO(lines.encode())
    upload.name = "pre.jsonl"
    response = client.post(
        "/admin/labeling/labelimport/add/",
        {"dataset": dataset.pk, "kind": "predictions", "upload": upload},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = LabelImport.objects.get()
    assert job.kind == "predictions"
    assert tasks.import_items(job.pk) == "done"
    assert LabelTask.objects.filter(dataset=dataset, prediction=["cat"]).count() == 25
    # A CSV is refused on the form, naming why; nothing is queued.
    csv = io.BytesIO(b"id,prediction\n1,cat\n")
    csv.name = "pre.csv"
    refused = client.post(
        "/admin/labeling/labelimport/add/",
        {"dataset": dataset.pk, "kind": "predictions", "upload": csv},
    )
    assert refused.status_code == 200
    assert "Pre-labels are imported from JSON Lines" in refused.content.decode()
    assert LabelImport.objects.count() == 1

    labelers = make_labelers(ldao, 3)
    for user, answer in zip(labelers, ["cat", "cat", "dog"], strict=True):
        while (hold := services.task_next(dataset_id=dataset.pk, labeler=user)) is not None:
            services.label_submit(
                dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=answer
            )
    run = services.consensus_run_request(dataset_id=dataset.pk, actor=None)
    assert tasks.run_consensus(run.pk) == "done"
    page = login(labelers[0]).get(f"/daos/{dataset.dao.slug}/{dataset.slug}/").content.decode()
    assert '<dd id="prelabel-items">25</dd>' in page
    assert '<dd id="prelabel-taken">75 shown, 50 taken (67%)</dd>' in page
    # Every hand-out showed the suggestion (rate 1) and there are no check questions: no
    # answer was given without one, so nothing measures the model yet.
    assert "measured by a consensus run once enough answers given without a suggestion" in page
    # Labels given without one (a hand-out drawn without it, here: the item had no pre-label
    # yet) measure it: the careful labelers' "cat" against the model's "cat".
    later = make_tasks(dataset, 25, start=25)
    for user in labelers[:2]:
        while (hold := services.task_next(dataset_id=dataset.pk, labeler=user)) is not None:
            services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    LabelTask.objects.filter(pk__in=[t.pk for t in later]).update(prediction=["cat"])
    run = services.consensus_run_request(dataset_id=dataset.pk, actor=None)
    assert tasks.run_consensus(run.pk) == "done"
    page = login(labelers[0]).get(f"/daos/{dataset.dao.slug}/{dataset.slug}/").content.decode()
    assert "100% over 50 answers (last run)" in page
    stats_page = client.get("/admin/labeling/labelerstats/").content.decode()
    assert "Suggestions taken" in stats_page and "100%" in stats_page and "0%" in stats_page
