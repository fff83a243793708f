"""Helpers for the validator set tests: validator keys, requests signed with the SDK's own
signer (``datadao_client.ValidatorSigner``, what ``datadao validator run`` sends), verdicts
and attestations made with the validator's code (``datadao_validator``), and a contribution
taken to ``attesting`` in this process."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status, ValidatorSet
from contributions.quorum.services import validator_set_change
from datadao_client import ValidatorSigner
from datadao_validator.attest import signed_attestation, verdict

HOST = "testserver"


def validator_keys(n: int, tag: str = "v") -> list[LocalAccount]:
    return [Account.from_key(keccak(text=f"datadao-test-validator-{tag}-{i}")) for i in range(n)]


def register(dao: Any, keys: list[LocalAccount], threshold: int) -> ValidatorSet:
    return validator_set_change(
        dao=dao, addresses=[k.address for k in keys], threshold=threshold, actor=None
    )


def headers(
    account: LocalAccount,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    host: str = HOST,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three signature headers, as the validator client builds them."""
    clock = time.time if timestamp is None else (lambda: timestamp)
    return ValidatorSigner(account, host, clock=clock)(method, path, body)


def get(client: Client, account: LocalAccount, path: str) -> Any:
    return client.get(path, headers=headers(account, "GET", path))


def post(client: Client, account: LocalAccount, path: str, body: dict[str, Any]) -> Any:
    data = json.dumps(body).encode()
    return client.post(
        path,
        data=data,
        content_type="application/json",
        headers=headers(account, "POST", path, data),
    )


def work_item(client: Client, account: LocalAccount, contribution_id: int) -> dict[str, Any]:
    response = get(client, account, "/api/validators/work")
    assert response.status_code == 200, response.content
    [item] = [i for i in response.json()["contributions"] if i["id"] == contribution_id]
    return item


def attestation_for(
    client: Client, account: LocalAccount, item: dict[str, Any], *, perturb: int = 0
) -> dict[str, Any]:
    """What the validator client posts for ``item``: bytes fetched over the API (a sealed
    one's ciphertext too), its verdict and its signature."""
    return signed_attestation(item, found_by(client, account, item, perturb=perturb), account)


def found_by(
    client: Client, account: LocalAccount, item: dict[str, Any], *, perturb: int = 0
) -> dict[str, Any]:
    """The validator client's verdict on ``item``, from the bytes the API serves it."""
    response = get(client, account, item["content_url"])
    assert response.status_code == 200, response.content
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "content"
        path.write_bytes(b"".join(response.streaming_content))
        ciphertext = None
        if item["ciphertext_url"]:
            stored = get(client, account, item["ciphertext_url"])
            assert stored.status_code == 200, stored.content
            ciphertext = Path(work) / "ciphertext"
            ciphertext.write_bytes(b"".join(stored.streaming_content))
        return verdict(item, path, ciphertext=ciphertext, perturb_score=perturb)


def attest(client: Client, account: LocalAccount, contribution_id: int, *, perturb: int = 0) -> Any:
    item = work_item(client, account, contribution_id)
    body = attestation_for(client, account, item, perturb=perturb)
    return post(client, account, item["attestations_url"], body)


def attesting(
    member_client: Client, dataset: Any, data: bytes, name: str = "d.csv"
) -> Contribution:
    """Upload through the API and run validate, score and attest in this process: a DAO
    with a validator set leaves the contribution waiting for its validators."""
    response = member_client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, run in (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
    ):
        contribution = services.contribution_begin(contribution_id=pk, stage=stage)
        assert contribution is not None, stage
        run(contribution)
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.ATTESTING, (contribution.status, contribution.reasons)
    return contribution


def pin(pk: int) -> Contribution:
    contribution = services.contribution_begin(contribution_id=pk, stage="pin")
    assert contribution is not None
    stage_lane.run_pin(contribution)
    return Contribution.objects.get(pk=pk)
