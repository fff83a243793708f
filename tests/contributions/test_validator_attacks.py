"""Attacks on a DAO's validator set by someone holding many wallets (#24 item 4): replaying
another validator's attestation, counting one key twice, posting as a non-member, attesting a
contribution of another DAO or chain, and replaying or forging signed requests. Each refusal
is checked by its status and its message, and that nothing was recorded."""

from __future__ import annotations

import copy
import time

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from contributions.models import Contribution, Status, ValidatorAttestation, ValidatorSetMember
from contributions.quorum.errors import ValidatorSetRefused
from contributions.quorum.services import validator_set_change
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.contributions.quorum import (
    attestation_for,
    attesting,
    get,
    headers,
    post,
    register,
    validator_keys,
    work_item,
)
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys():  # type: ignore[no-untyped-def]
    return validator_keys(3, tag="attack")


@pytest.fixture
def waiting(tabular, member_client, keys) -> Contribution:  # type: ignore[no-untyped-def]
    register(tabular.dao, keys, 2)
    return attesting(member_client, tabular, good_csv(6, start=500))


def _nothing_recorded(c: Contribution) -> None:
    assert not ValidatorAttestation.objects.filter(contribution=c).exists()
    assert Contribution.objects.get(pk=c.pk).status == Status.ATTESTING


def test_replaying_another_validators_attestation_is_refused(waiting, keys) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    item = work_item(client, keys[0], waiting.pk)
    theirs = attestation_for(client, keys[0], item)
    # As posted by validator 1: it names validator 0.
    response = post(client, keys[1], item["attestations_url"], theirs)
    assert response.status_code == 403
    assert response.json()["error"] == "not_a_validator"
    assert f"names validator {keys[0].address}" in response.json()["detail"]
    assert f"signed by {keys[1].address}" in response.json()["detail"]
    # Renamed to validator 1, with validator 0's signature: it recovers to nobody's key here.
    renamed = copy.deepcopy(theirs)
    renamed["attestation"]["validator"] = keys[1].address
    response = post(client, keys[1], item["attestations_url"], renamed)
    assert response.status_code == 400 and response.json()["error"] == "bad_attestation"
    assert f"does not recover to {keys[1].address}" in response.json()["detail"]
    _nothing_recorded(waiting)


def test_one_key_is_counted_once(waiting, keys) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    item = work_item(client, keys[0], waiting.pk)
    body = attestation_for(client, keys[0], item)
    assert post(client, keys[0], item["attestations_url"], body).status_code == 201
    again = post(client, keys[0], item["attestations_url"], body)
    assert again.status_code == 200 and again.json()["outcome"] == "repeated"
    changed = attestation_for(client, keys[0], item, perturb=10)
    conflict = post(client, keys[0], item["attestations_url"], changed)
    assert conflict.status_code == 409 and "attestation is final" in conflict.json()["detail"]
    # One attestation, and still waiting: one key is never two of the k.
    assert ValidatorAttestation.objects.filter(contribution=waiting).count() == 1
    assert Contribution.objects.get(pk=waiting.pk).status == Status.ATTESTING
    # The database refuses a second row for the key, however it is spelled.
    row = ValidatorAttestation.objects.get(contribution=waiting)
    row.pk = None
    row.validator = row.validator.lower()
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save(force_insert=True)


def test_a_key_is_in_a_set_once(tabular, keys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidatorSetRefused, match="is listed twice"):
        validator_set_change(
            dao=tabular.dao,
            addresses=[keys[0].address, keys[0].address.lower(), keys[1].address],
            threshold=2,
            actor=None,
        )
    validator_set = register(tabular.dao, keys[:2], 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        ValidatorSetMember.objects.create(
            validator_set=validator_set, address=keys[0].address.lower()
        )


def test_a_non_member_is_refused_with_a_clear_message(waiting, keys) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    [stranger] = validator_keys(1, tag="stranger")
    work = get(client, stranger, "/api/validators/work")
    assert work.status_code == 403
    assert work.json() == {
        "error": "not_a_validator",
        "detail": f"{stranger.address} is not in any DAO's validator set; a DAO's creator or "
        "admin adds it (console: Validator sets).",
    }
    content = get(client, stranger, f"/api/validators/contributions/{waiting.pk}/content")
    assert content.status_code == 403
    # Its own well-signed attestation of the contribution.
    item = work_item(client, keys[0], waiting.pk)
    body = attestation_for(client, keys[0], item)
    body["attestation"]["validator"] = stranger.address
    response = post(client, stranger, item["attestations_url"], body)
    assert response.status_code == 403
    assert (
        f"{stranger.address} is not in the validator set of {waiting.dataset.dao.name}"
        in response.json()["detail"]
    )
    _nothing_recorded(waiting)


def test_an_attestation_of_another_daos_contribution_is_refused(  # type: ignore[no-untyped-def]
    waiting, keys, member, member_client
) -> None:
    from datadao.models import Membership, Role

    other_dao = DAOFactory()
    Membership.objects.create(dao=other_dao, user=member, role=Role.CONTRIBUTOR)
    other = dataset_set_status(
        dataset=DatasetFactory(dao=other_dao, kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    client = Client()
    # Validator 2 is only in the other DAO's set.
    [outsider] = validator_keys(1, tag="other-dao")
    register(other_dao, [outsider, keys[0]], 1)
    theirs = attesting(member_client, other, good_csv(3, start=900))
    item = work_item(client, keys[0], waiting.pk)
    body = attestation_for(client, keys[0], item)
    # Not a member of this DAO's set: 403 before anything else.
    response = post(client, outsider, item["attestations_url"], body)
    assert response.status_code == 403
    assert f"not in the validator set of {waiting.dataset.dao.name}" in response.json()["detail"]
    # A member of both sets: an attestation signed for this DAO's contribution, posted to the
    # other DAO's, names the wrong DAO.
    response = post(
        client, keys[0], f"/api/validators/contributions/{theirs.pk}/attestations", body
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("attestation.daoId is")
    assert f"contribution {theirs.pk} has {other_dao.onchain_id}" in response.json()["detail"]
    _nothing_recorded(waiting)
    _nothing_recorded(theirs)


def test_an_attestation_signed_for_another_chain_is_refused(waiting, keys) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    item = work_item(client, keys[0], waiting.pk)
    item["dao"]["chain_id"] = item["dao"]["chain_id"] + 1
    body = attestation_for(client, keys[0], item)
    response = post(client, keys[0], item["attestations_url"], body)
    assert response.status_code == 400
    assert f"chain {waiting.dataset.dao.chain_id}" in response.json()["detail"]
    _nothing_recorded(waiting)


def test_forged_and_replayed_requests_are_refused(waiting, keys) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    path = "/api/validators/work"
    assert client.get(path).json()["error"] == "validator_signature"
    stale = client.get(
        path, headers=headers(keys[0], "GET", path, timestamp=int(time.time()) - 3600)
    )
    assert stale.status_code == 401 and "away from the server's clock" in stale.json()["detail"]
    other_host = client.get(path, headers=headers(keys[0], "GET", path, host="elsewhere.example"))
    assert other_host.status_code == 401 and "does not recover" in other_host.json()["detail"]
    # A captured attestation request with another body.
    item = work_item(client, keys[0], waiting.pk)
    body = attestation_for(client, keys[0], item)
    signed = headers(keys[0], "POST", item["attestations_url"], b"{}")
    response = client.post(
        item["attestations_url"],
        data=__import__("json").dumps(body),
        content_type="application/json",
        headers=signed,
    )
    assert response.status_code == 401
    _nothing_recorded(waiting)
