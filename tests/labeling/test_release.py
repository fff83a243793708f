"""Dataset releases of a labeling dataset carry the settled labels, pinned to IPFS."""

from __future__ import annotations

import csv
import io

import pytest

from contributions.releases import release_publish
from ipfs.services import content_open_verified
from labeling import services
from tests.labeling.conftest import age_labels, make_gold, make_tasks

pytestmark = pytest.mark.django_db


def test_release_pins_settled_labels_without_gold(ldataset, labelers):
    tasks = make_tasks(ldataset, 2)
    make_gold(ldataset, ["bird"])
    for user in labelers[:3]:
        while (hold := services.task_next(dataset_id=ldataset.pk, labeler=user)) is not None:
            services.label_submit(
                dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="dog"
            )
    age_labels()
    services.task_consensus_update(task_id=tasks[0].pk)  # one settled, one still open
    release = release_publish(dataset=ldataset, actor=None)
    labels = release.manifest["labels"]
    assert labels["settled_tasks"] == 1
    with content_open_verified(cid=labels["csv"]["cid"]) as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode())))
    assert [(r["task"], r["consensus"]) for r in rows] == [(str(tasks[0].pk), "dog")]
    assert "bird" not in str(rows)
    assert release_publish(dataset=ldataset, actor=None).pk == release.pk  # nothing changed
    services.task_consensus_update(task_id=tasks[1].pk)
    v2 = release_publish(dataset=ldataset, actor=None)
    assert v2.version == 2 and v2.manifest["labels"]["settled_tasks"] == 2


def test_release_of_a_labeling_dataset_with_nothing_settled_is_refused(ldataset):
    from django.core.exceptions import ValidationError

    make_tasks(ldataset, 1)
    with pytest.raises(ValidationError, match="settled labels"):
        release_publish(dataset=ldataset, actor=None)


def test_a_members_only_datasets_settled_labels_are_pinned_sealed(ldataset, labelers):
    from django.test import Client

    from contributions.models import SealedPin
    from datadao.models import Visibility

    ldataset.visibility = Visibility.MEMBERS
    ldataset.save(update_fields=["visibility"])
    tasks = make_tasks(ldataset, 1)
    for user in labelers[:3]:
        while (hold := services.task_next(dataset_id=ldataset.pk, labeler=user)) is not None:
            services.label_submit(
                dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="dog"
            )
    age_labels()
    services.task_consensus_update(task_id=tasks[0].pk)
    release = release_publish(dataset=ldataset, actor=None)
    assert release.sealed_key
    client = Client()
    client.force_login(labelers[0], backend="django.contrib.auth.backends.ModelBackend")
    for fmt in ("csv", "jsonl"):
        cid = release.manifest["labels"][fmt]["cid"]
        assert SealedPin.objects.filter(cid=cid, dataset=ldataset).exists()
        with content_open_verified(cid=cid) as handle:
            assert b"dog" not in handle.read()  # the store holds ciphertext
        response = client.get(f"/ipfs/{cid}")
        assert response.status_code == 200
        assert b"dog" in b"".join(response.streaming_content)
