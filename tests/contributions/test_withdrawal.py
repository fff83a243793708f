"""Consent withdrawal end to end (PostgreSQL, Redis, a real worker, the js-ipfs node), and the
refusals: only the contributor's own signature, for this DAO and dataset, once."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import ConsentWithdrawal, Contribution, Status
from contributions.releases import release_publish
from contributions.services import rows_key, upload_key
from datadao import blobs
from datadao.models import AuditEvent, DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from ipfs.backends.kubo import KuboBackend
from ipfs.models import Pin
from labeling.export import iter_jsonl
from labeling.models import LabelTask, TaskStatus
from rewards.models import RewardEntry, RewardPolicy
from rewards.services import epoch_close
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

REWARD_KEY = "0x" + hashlib.sha256(b"datadao-test-withdrawal-rewards").hexdigest()


def _csv(start: int, rows: int = 4) -> bytes:
    lines = ["id,value,kind"] + [f"{i},{i % 100}.5,a" for i in range(start, start + rows)]
    return ("\n".join(lines) + "\n").encode()


def _signed_in(wallet: LocalAccount, dao) -> Client:  # type: ignore[no-untyped-def]
    user = UserFactory(address=wallet.address)
    Membership.objects.get_or_create(dao=dao, user=user, defaults={"role": Role.CONTRIBUTOR})
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _sign(payload: dict[str, Any], wallet: LocalAccount) -> str:
    return wallet.sign_message(encode_typed_data(full_message=payload)).signature.to_0x_hex()


def _withdraw(client: Client, dataset, wallet: LocalAccount, contribution: str = "all"):  # type: ignore[no-untyped-def]
    offer = client.get(f"/api/datasets/{dataset.pk}/withdrawal?contribution={contribution}")
    assert offer.status_code == 200, offer.content
    payload = offer.json()["typedData"]
    return client.post(
        f"/api/datasets/{dataset.pk}/withdrawal",
        json.dumps({"typedData": payload, "signature": _sign(payload, wallet)}),
        content_type="application/json",
    ), payload


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _pinned(pk: int, worker: WorkerProcess) -> Contribution:
    wait_for(
        lambda: Contribution.objects.filter(
            pk=pk, status__in=[Status.PINNED, Status.REJECTED, Status.FAILED]
        ).exists(),
        timeout=60,
        what=f"contribution {pk} to be pinned",
        worker=worker,
    )
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


@pytest.fixture
def private():  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=DAOFactory(), kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000)
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


@pytest.mark.worker
def test_withdrawing_consent_shreds_unpins_and_leaves_future_releases_out(
    on_node: WorkerProcess,
    private,
    kubo_backend: KuboBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    wallet = Account.create()
    client = _signed_in(wallet, private.dao)
    settled = _pinned(_upload(client, private, _csv(0)), on_node)
    epoch_close(dao=private.dao, actor=None)  # the first credit is settled
    unsettled = _pinned(_upload(client, private, _csv(100)), on_node)
    other_wallet = Account.create()
    other_client = _signed_in(other_wallet, private.dao)
    kept = _pinned(_upload(other_client, private, _csv(200)), on_node)
    first = release_publish(dataset=private, actor=None)
    mine = [settled, unsettled]
    assert all(kubo_backend.is_pinned(c.cid) for c in mine)

    response, _ = _withdraw(client, private, wallet)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contributions"] == [settled.pk, unsettled.pk]
    # What was made from them is listed for the DAO: the release that holds them.
    assert body["derived"]["releases"] == [
        {"version": 1, "cid": first.cid, "contributions": [settled.pk, unsettled.pk]}
    ]
    for contribution in mine:
        contribution.refresh_from_db()
        assert contribution.withdrawn_at is not None
        assert contribution.sealed_key == ""  # the data key is destroyed
        assert not blobs.store().exists(upload_key(contribution))
        assert not blobs.store().exists(rows_key(contribution))
    # The worker unpins them from the node, and this site forgets the pins.
    wait_for(
        lambda: not any(kubo_backend.is_pinned(c.cid) for c in mine),
        timeout=60,
        what="the withdrawn contributions to be unpinned",
        worker=on_node,
    )
    wait_for(
        lambda: not Pin.objects.filter(cid__in=[c.cid for c in mine]).exists(),
        timeout=30,
        what="the pins to be forgotten",
        worker=on_node,
    )
    assert client.get(f"/ipfs/{settled.cid}").status_code == 404
    # Money: the settled credit stays, the unsettled one is gone.
    assert RewardEntry.objects.get(source_id=str(settled.pk)).epoch_id is not None
    assert not RewardEntry.objects.filter(source_id=str(unsettled.pk)).exists()
    # The next release holds only the contribution whose consent stands.
    second = release_publish(dataset=private, actor=None)
    assert [e["id"] for e in second.manifest["contributions"]] == [kept.pk]
    assert kubo_backend.is_pinned(kept.cid)
    event = AuditEvent.objects.get(verb="consent.withdrawn")
    assert event.details["contributions"] == [settled.pk, unsettled.pk]
    assert client.get("/api/withdrawals").json()["count"] == 1


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[None]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def test_only_the_contributors_own_signature_for_this_dao_withdraws_once(
    embedded: None, private
) -> None:  # type: ignore[no-untyped-def]
    wallet, intruder = Account.create(), Account.create()
    client = _signed_in(wallet, private.dao)
    pk = _upload(client, private, _csv(0))
    url = f"/api/datasets/{private.pk}/withdrawal"
    payload = client.get(f"{url}?contribution={pk}").json()["typedData"]

    def post(typed: Any, signature: str, as_client: Client = client):  # type: ignore[no-untyped-def]
        return as_client.post(
            url,
            json.dumps({"typedData": typed, "signature": signature}),
            content_type="application/json",
        )

    # Signed by another wallet.
    refused = post(payload, _sign(payload, intruder))
    assert refused.status_code == 400 and "not by you" in refused.json()["detail"]
    # Re-addressed to another DAO, or a changed statement, even when signed by the owner.
    for field, value in (("daoId", "0x" + "ab" * 32), ("statement", "I consent to nothing.")):
        altered = copy.deepcopy(payload)
        altered["message"][field] = value
        refused = post(altered, _sign(altered, wallet))
        assert refused.status_code == 400 and "not for this DAO" in refused.json()["detail"]
    # Someone else's contribution: the intruder cannot even get an offer for it.
    intruder_client = _signed_in(intruder, private.dao)
    assert intruder_client.get(f"{url}?contribution={pk}").status_code == 404
    # The owner's offer, posted by the intruder's session: they have nothing in the dataset.
    assert post(payload, _sign(payload, wallet), intruder_client).status_code == 404
    # Malformed input.
    assert client.get(f"{url}?contribution=x").status_code == 400
    assert post(payload, "").status_code == 400
    assert post(payload, "0x1234").status_code == 400
    assert client.post(url, b"[", content_type="application/json").status_code == 400
    assert Client().get(f"{url}?contribution={pk}").status_code == 401
    assert not ConsentWithdrawal.objects.exists()
    assert Contribution.objects.get(pk=pk).withdrawn_at is None

    page = client.get(f"/me/contributions/{pk}").content.decode()
    assert "Withdraw consent" in page and "encrypted at rest" in page
    done = post(payload, _sign(payload, wallet))
    assert done.status_code == 201
    page = client.get(f"/me/contributions/{pk}").content.decode()
    assert "You withdrew consent" in page and "Withdraw consent</button>" not in page
    # Once: the same signed withdrawal again, and a new offer for the same contribution.
    assert post(payload, _sign(payload, wallet)).status_code == 409
    assert client.get(f"{url}?contribution={pk}").status_code == 409
    assert client.get(f"{url}?contribution=all").status_code == 404
    assert ConsentWithdrawal.objects.count() == 1


LABEL_SCHEMA = {"labels": ["cat", "dog"], "overlap": 2, "gold_rate": 0.0, "item_kind": "text"}


def test_labeling_items_of_withdrawn_data_are_listed_closed_and_never_exported(
    embedded: None,
) -> None:  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=DAOFactory(),
        kind="labeling",
        schema=LABEL_SCHEMA,
        scoring={"threshold": 1000},
        visibility=Visibility.MEMBERS,
    )
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    wallet = Account.create()
    client = _signed_in(wallet, dataset.dao)
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions",
        {"file": SimpleUploadedFile("a.txt", b"a sentence about a cat\n")},
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, runner in (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
        ("pin", stage_lane.run_pin),
    ):
        begun = services.contribution_begin(contribution_id=pk, stage=stage)
        assert begun is not None, Contribution.objects.get(pk=pk).reasons
        runner(begun)
    task = LabelTask.objects.get(contribution_id=pk)
    assert task.status == TaskStatus.OPEN
    task.status = TaskStatus.COMPLETE  # as if settled, so an export would list it
    task.save()
    assert "a sentence about a cat" in json.dumps(task.payload)
    assert task.pk in [
        json.loads(line)["task"] for line in "".join(iter_jsonl(dataset.pk)).split("\n") if line
    ]

    withdrawn, _ = _withdraw(client, dataset, wallet, str(pk))
    assert withdrawn.status_code == 201, withdrawn.content
    assert withdrawn.json()["derived"]["labeling"] == [
        {"tasks": 1, "labels": 0, "settled": 1, "task_ids": [task.pk]}
    ]
    assert "".join(iter_jsonl(dataset.pk)) == ""
    with pytest.raises(ValidationError):  # nothing with consent is left to release
        release_publish(dataset=dataset, actor=None)


def test_a_contribution_still_in_the_pipeline_stops_where_it_is(embedded: None, private) -> None:  # type: ignore[no-untyped-def]
    wallet = Account.create()
    client = _signed_in(wallet, private.dao)
    pk = _upload(client, private, _csv(0))
    assert Contribution.objects.get(pk=pk).status == Status.RECEIVED
    response, _ = _withdraw(client, private, wallet, str(pk))
    assert response.status_code == 201
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.FAILED
    assert "withdrawn" in contribution.failure
    # A delivery of its next stage finds nothing to do: no pin, no credit.
    assert services.contribution_begin(contribution_id=pk, stage="validate") is None
    assert not RewardEntry.objects.filter(source_id=str(pk)).exists()


def test_a_malformed_message_is_refused_not_a_500(embedded: None, private) -> None:  # type: ignore[no-untyped-def]
    wallet = Account.create()
    client = _signed_in(wallet, private.dao)
    _upload(client, private, _csv(0))
    url = f"/api/datasets/{private.pk}/withdrawal"
    payload = client.get(url).json()["typedData"]
    for message in ([1, 2], "x", None):
        body = {"typedData": {**payload, "message": message}, "signature": "0x" + "00" * 65}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
    form = client.post(url, {"typedData": "x", "signature": "y"})
    assert form.status_code == 400 and "application/json" in form.json()["detail"]
