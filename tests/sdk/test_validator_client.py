"""The SDK's ``ValidatorClient`` against a live server: authenticated by its key's signature
over each request alone (no session, no token), refused with the platform's codes when the
key is in no validator set or its clock is off, and signing each retried attempt anew.
``datadao validator run`` is built on it (tests/contributions/test_validator_client.py runs
that as processes)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from django.test import Client as DjangoClient
from eth_account import Account

from contributions.models import ValidatorAttestation
from datadao.models import Membership, Role
from datadao_client import ApiError, ValidatorClient
from datadao_validator.attest import signed_attestation, verdict
from tests.contributions.conftest import good_csv
from tests.contributions.quorum import attesting, register, validator_keys
from tests.factories import UserFactory
from tests.sdk.faultproxy import Plan, fault_proxy
from tests.sdk.test_live import FAST, live


@live
def test_a_validator_fetches_its_work_and_attests_through_the_sdk(
    live_server, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    keys = validator_keys(2, tag="sdk")
    register(tabular.dao, keys, 2)
    member = UserFactory()
    Membership.objects.create(dao=tabular.dao, user=member, role=Role.CONTRIBUTOR)
    web = DjangoClient()
    web.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    contribution = attesting(web, tabular, good_csv(6))

    validator = ValidatorClient(live_server.url, keys[0], retry=FAST)
    work = validator.work()
    assert work["validator"] == keys[0].address
    [item] = [i for i in work["contributions"] if i["id"] == contribution.pk]
    assert item["dataset"]["id"] == tabular.pk and item["sha256"] == contribution.sha256
    content = validator.download_content(contribution.pk, tmp_path / "content")
    assert hashlib.sha256(content.read_bytes()).hexdigest() == item["sha256"]
    body = signed_attestation(item, verdict(item, content), keys[0])
    first = validator.attest(contribution.pk, body)
    assert (first["outcome"], first["status"], first["validator"]) == (
        "recorded",
        "attesting",
        keys[0].address,
    )
    assert validator.attest(contribution.pk, body)["outcome"] == "repeated"
    [recorded] = ValidatorAttestation.objects.filter(contribution=contribution)
    assert recorded.validator == keys[0].address

    # A key in no DAO's set; a clock an hour off: the platform's refusals, as ApiError.
    with pytest.raises(ApiError) as stranger:
        ValidatorClient(live_server.url, Account.create()).work()
    assert (stranger.value.status, stranger.value.code) == (403, "not_a_validator")
    late = ValidatorClient(live_server.url, keys[1], clock=lambda: time.time() - 3600)
    with pytest.raises(ApiError) as skewed:
        late.work()
    assert (skewed.value.status, skewed.value.code) == (401, "validator_signature")
    with pytest.raises(ApiError) as stale:
        late.download_content(contribution.pk, tmp_path / "never")
    assert stale.value.status == 401 and not (tmp_path / "never").exists()

    # A 503 is retried, and the retry is signed again (at its own time) through a real proxy
    # whose host the signature names.
    signed_at: list[float] = []

    def clock() -> float:
        signed_at.append(time.time())
        return signed_at[-1]

    plan = Plan(match="/api/validators/work", faults=["503"])
    with fault_proxy(live_server.url, plan) as url:
        again = ValidatorClient(url, keys[1], retry=FAST, clock=clock).work()
    assert [i["id"] for i in again["contributions"]] == [contribution.pk]
    assert [line.split()[-1] for line in plan.seen] == ["503", "pass"]
    assert len(signed_at) == 2
