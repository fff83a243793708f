"""Every lane records the same thing: the same corpus of files goes through one task per stage,
the express task and batches (in-process, real PostgreSQL), each into its own twin datasets,
and the whole record is compared: every column of each contribution, its report, its proof's
signed payload (and that the signature recovers the validator), its pin, row index, fingerprint,
audit events, reward credit, labeling items, and the datasets' tallies. Any difference fails.

Identifiers that differ by construction (row ids, the dataset a lane uploaded to, its bytes32
id in the proof, timestamps) are replaced by their place in the corpus before comparing.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from PIL import Image

from contributions import tasks
from contributions.attestation import dataset_id_bytes32, recover
from contributions.models import (
    FINAL_STATUSES,
    Contribution,
    ContributionProof,
    Fingerprint,
    RowHash,
    Tally,
)
from datadao.models import AuditEvent
from ipfs.models import Pin
from labeling.models import LabelTask
from rewards.models import RewardEntry, RewardPolicy
from tests.contributions.conftest import CSV_SCHEMA, IMAGE_SCHEMA, good_csv
from tests.contributions.test_pipeline import _png
from tests.factories import DatasetFactory
from tests.labeling.conftest import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

LABELS = ["cat", "dog"]


def _near(seed: int) -> bytes:
    image = Image.open(io.BytesIO(_png(seed)))
    image.putpixel((0, 0), (1, 2, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# (dataset kind, file name, bytes): valid, half known, invalid, small; an image, its
# near-duplicate, another image; an item to label.
CORPUS: list[tuple[str, str, bytes]] = [
    ("tabular", "a.csv", good_csv(10)),
    ("tabular", "b.csv", good_csv(10, start=5)),
    ("tabular", "bad.csv", b"id,value,kind\n1,5.5,a\nx,7,c\n"),
    ("tabular", "c.csv", good_csv(4, start=100)),
    ("files", "a.png", _png(5)),
    ("files", "b.png", _near(5)),
    ("files", "c.png", _png(9)),
    ("labeling", "item.png", _png(11)),
]

LANES: dict[str, dict[str, int]] = {
    "stage": {"PIPELINE_BATCH_SIZE": 1, "PIPELINE_EXPRESS_MAX_BYTES": 0},
    "express": {"PIPELINE_BATCH_SIZE": 1},
    "batch": {"PIPELINE_BATCH_SIZE": 8},
}


def _stage_lane(ids: list[int]) -> None:
    for pk in ids:  # each file through its stages before the next, as the corpus is ordered
        for task in (
            tasks.validate_contribution,
            tasks.score_contribution,
            tasks.attest_contribution,
            tasks.pin_contribution,
        ):
            task(pk)


def _express_lane(ids: list[int]) -> None:
    for pk in ids:
        tasks.process_contribution(pk)


def _batch_lane(ids: list[int]) -> None:
    while tasks.process_batch() not in (None, "nothing waiting"):
        pass
    # What a batch does not take (a labeling item) goes down the express lane.
    _express_lane(ids)


RUN: dict[str, Callable[[list[int]], None]] = {
    "stage": _stage_lane,
    "express": _express_lane,
    "batch": _batch_lane,
}


def _datasets(dao: Any, creator: Any) -> dict[str, Any]:
    from tests.contributions.conftest import _open

    made = {
        "tabular": _open(DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA)),
        "files": _open(DatasetFactory(dao=dao, kind="files", schema=IMAGE_SCHEMA)),
        "labeling": make_dataset(dao, labels=LABELS, item_kind="image"),
    }
    for kind, dataset in made.items():
        RewardPolicy.objects.create(
            dataset=dataset, per_contribution=10**18, per_row=10**15 if kind == "tabular" else 0
        )
    return made


def _upload(client: Client, dataset: Any, name: str, data: bytes) -> int:
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _record(ids: list[int], datasets: dict[str, Any]) -> dict[str, Any]:
    """The lane's whole record, its identifiers replaced by places in the corpus."""
    place = {pk: f"#{i}" for i, pk in enumerate(ids)}
    dataset_place = {d.pk: kind for kind, d in datasets.items()}
    by_bytes32 = {dataset_id_bytes32(d.pk): kind for kind, d in datasets.items()}
    out: dict[str, Any] = {}
    for c in Contribution.objects.filter(pk__in=ids).order_by("pk"):
        row: dict[str, Any] = {
            field.attname: getattr(c, field.attname)
            for field in Contribution._meta.concrete_fields
            if field.attname
            not in (
                "id",
                "storage_name",
                "created_at",
                "status_changed_at",
                "dataset_id",
                "request_id",
            )
        }
        row["near_duplicate_of_id"] = place.get(c.near_duplicate_of_id)
        row["reasons"] = [
            re.sub(r"#(\d+)\b", lambda m: place.get(int(m.group(1)), m.group(0)), r)
            for r in c.reasons
        ]
        row["lease_until"] = row["lease_until"] is not None
        proof = ContributionProof.objects.filter(contribution=c).first()
        if proof is not None:
            message = dict(proof.typed_data["message"])
            message["datasetId"] = by_bytes32[message["datasetId"]]
            assert recover(proof.typed_data, proof.signature) == proof.signer
            row["proof"] = {**proof.typed_data, "message": message, "signer": proof.signer}
        row["pinned"] = bool(c.cid) and Pin.objects.filter(cid=c.cid).exists()
        row["row_hashes"] = sorted(
            bytes(d).hex()
            for d in RowHash.objects.filter(contribution=c).values_list("digest", flat=True)
        )
        row["fingerprint"] = list(
            Fingerprint.objects.filter(contribution=c).values_list("phash", "minhash")
        )
        row["audit"] = sorted(
            json.dumps([e.verb, e.details], sort_keys=True, default=str)
            for e in AuditEvent.objects.filter(
                object_type="contributions.contribution", object_id=str(c.pk)
            )
        )
        row["credit"] = list(
            RewardEntry.objects.filter(
                source_type="contributions.contribution", source_id=str(c.pk)
            ).values_list("amount", "reason", "account_id")
        )
        row["items"] = sorted(
            (t.kind, t.wanted, t.status, json.dumps(t.payload, sort_keys=True))
            for t in LabelTask.objects.filter(dataset=c.dataset)
        )
        out[f"{place[c.pk]} {dataset_place[c.dataset_id]}"] = row
    # A lane that passes through a status leaves a zero row for it; the counts are compared.
    out["tallies"] = sorted(
        (dataset_place[t["dataset_id"]], t["status"], t["n"], t["near"], t["pending"])
        for t in Tally.objects.filter(dataset_id__in=dataset_place).values(
            "dataset_id", "status", "n", "near", "pending"
        )
        if t["n"] or t["near"] or t["pending"]
    )
    return out


def test_every_lane_records_the_same_thing(dao, member, member_client: Client) -> None:  # type: ignore[no-untyped-def]
    records = {}
    for lane, options in LANES.items():
        datasets = _datasets(dao, member)
        with override_settings(**options):
            ids = [
                _upload(member_client, datasets[kind], name, data) for kind, name, data in CORPUS
            ]
            RUN[lane](ids)
        tasks.fold_tallies()  # the tallies' pending deltas, as the periodic task folds them
        final = Contribution.objects.filter(pk__in=ids, status__in=FINAL_STATUSES).count()
        assert final == len(ids), (
            lane,
            list(Contribution.objects.filter(pk__in=ids).values_list("status", flat=True)),
        )
        records[lane] = _record(ids, datasets)
    for lane in ("express", "batch"):
        assert records[lane].keys() == records["stage"].keys(), lane
        for key in records["stage"]:
            assert records[lane][key] == records["stage"][key], (lane, key)
    # The corpus exercised what it is for: accepted, half-new, rejected, near-duplicate, items.
    stage = records["stage"]
    assert stage["#0 tabular"]["status"] == "pinned" and stage["#1 tabular"]["uniqueness"] == 5000
    assert stage["#2 tabular"]["status"] == "rejected"
    assert stage["#5 files"]["near_duplicate_of_id"] == "#4"
    assert stage["#7 labeling"]["items"]
    # ... and the record holds what it compares.
    first = stage["#0 tabular"]
    assert first["proof"] and first["credit"] and first["row_hashes"] and first["audit"]
    assert stage["#4 files"]["fingerprint"] and stage["tallies"]
