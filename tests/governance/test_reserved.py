"""Changes a DAO reserves for governance: the console (its forms, buttons and actions) and the
services refuse them with a message naming the kind; a passed proposal applies them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from datadao import services as dao_services
from datadao.governed import ChangeKind, ReservedForGovernance
from datadao.models import DAO, AuditEvent, DatasetStatus, Membership, Role
from governance import services, vote712
from governance.models import ProposalStatus
from rewards.models import RewardPolicy
from rewards.policies import reward_policy_set
from tests.governance.conftest import Gov, cast, hours_ago, propose

pytestmark = pytest.mark.django_db

RESERVED = "only a passed proposal may make it"


def _console(gov: Gov, who: str = "creator") -> Client:
    client = Client()
    client.force_login(gov.users[who], backend="django.contrib.auth.backends.ModelBackend")
    return client


def _dao_form(dao: DAO, **over: Any) -> dict[str, Any]:
    data = {
        "name": dao.name,
        "description": dao.description,
        "token_symbol": dao.token_symbol,
        "token_decimals": dao.token_decimals,
        "chain_id": dao.chain_id,
        "reward_contract_address": "",
        "epoch_days": "",
        "join_policy": dao.join_policy,
        "terms": dao.terms,
        "voting_power": dao.voting_power,
        "voting_token": dao.voting_token,
        "governance_reserved": list(dao.governance_reserved),
        "governance_timelock_seconds": dao.governance_timelock_seconds,
        "governance_min_quorum_bps": dao.governance_min_quorum_bps,
    }
    data.update(over)
    return data


def _reserve(gov: Gov, *kinds: str) -> None:
    """Reserve from the console, as a creator would (allowed while nothing is reserved)."""
    url = f"/admin/datadao/dao/{gov.dao.pk}/change/"
    response = _console(gov).post(url, _dao_form(gov.dao, governance_reserved=list(kinds)))
    assert response.status_code == 302, response.content.decode()[-3000:]
    gov.dao.refresh_from_db()
    assert sorted(gov.dao.governance_reserved) == sorted(kinds)


def _passed(gov: Gov, kind: str, change: dict[str, Any]) -> Any:
    proposal = propose(gov, kind, change, at=hours_ago(2))
    cast(gov, "alice", proposal, vote712.FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, vote712.FOR, at=hours_ago(1.8))
    proposal = services.proposal_settle(proposal_id=proposal.pk)
    assert proposal.status == ProposalStatus.EXECUTED, proposal.failure
    return proposal


def test_a_reserved_reward_policy_is_refused_in_the_console_and_set_by_a_proposal(
    gov: Gov,
) -> None:
    _reserve(gov, ChangeKind.REWARD_POLICY)
    data = {"dataset": gov.dataset.pk, "per_contribution": "5", "per_label": "0"}
    page = _console(gov).post("/admin/rewards/rewardpolicy/add/", data)
    assert page.status_code == 200 and RESERVED in page.content.decode()
    assert "reward.policy" in page.content.decode()
    assert not RewardPolicy.objects.exists()
    with pytest.raises(ReservedForGovernance) as refusal:
        reward_policy_set(dataset=gov.dataset, actor=gov.users["creator"], per_label=1)
    assert refusal.value.status_code == 403 and RESERVED in refusal.value.messages[0]
    proposal = _passed(gov, ChangeKind.REWARD_POLICY, {"dataset": gov.dataset.pk, "per_label": 7})
    assert RewardPolicy.objects.get(dataset=gov.dataset).per_label == 7
    event = AuditEvent.objects.get(verb="reward_policy.created")
    assert event.details["proposal"] == proposal.pk


def test_a_reserved_schema_licence_and_status_are_refused_in_the_console(gov: Gov) -> None:
    _reserve(gov, ChangeKind.DATASET_SCHEMA, ChangeKind.DATASET_LICENSE, ChangeKind.DATASET_STATUS)
    client = _console(gov)
    url = f"/admin/datadao/dataset/{gov.dataset.pk}/change/"
    form = {
        "name": gov.dataset.name,
        "description": "",
        "schema_editor": "json",
        "schema": json.dumps({"columns": [{"name": "other", "type": "int"}]}),
        "license": "MIT",
        "visibility": "public",
        "scoring": "",
    }
    page = client.post(url, form).content.decode()
    assert page.count(RESERVED) == 2 and "dataset.schema" in page and "dataset.license" in page
    # The name is not reserved: it still changes from the console.
    same = {**form, "schema": json.dumps(gov.dataset.schema), "license": gov.dataset.license}
    assert client.post(url, {**same, "name": "Renamed"}).status_code == 302
    closed = client.post(
        f"/admin/datadao/dataset/{gov.dataset.pk}/status/", {"status": "closed"}, follow=True
    )
    assert RESERVED in closed.content.decode()
    gov.dataset.refresh_from_db()
    assert gov.dataset.status == DatasetStatus.OPEN and gov.dataset.license == "CC-BY-4.0"
    assert gov.dataset.name == "Renamed"
    with pytest.raises(ValidationError, match="only a passed proposal"):
        dao_services.dataset_set_status(dataset=gov.dataset, actor=None, status="closed")
    _passed(gov, ChangeKind.DATASET_STATUS, {"dataset": gov.dataset.pk, "status": "closed"})
    gov.dataset.refresh_from_db()
    assert gov.dataset.status == DatasetStatus.CLOSED


def test_a_reserved_role_change_and_join_policy_are_refused_in_the_console(gov: Gov) -> None:
    _reserve(gov, ChangeKind.MEMBERSHIP_ROLE, ChangeKind.JOIN_POLICY)
    client = _console(gov)
    bob = Membership.objects.get(dao=gov.dao, user=gov.users["bob"])
    page = client.post(f"/admin/datadao/membership/{bob.pk}/change/", {"role": Role.REVIEWER})
    assert page.status_code == 200 and RESERVED in page.content.decode()
    url = f"/admin/datadao/dao/{gov.dao.pk}/change/"
    page = client.post(url, _dao_form(gov.dao, join_policy="open"))
    assert page.status_code == 200 and RESERVED in page.content.decode()
    bob.refresh_from_db()
    gov.dao.refresh_from_db()
    assert bob.role == Role.CONTRIBUTOR and gov.dao.join_policy == "request"
    _passed(gov, ChangeKind.MEMBERSHIP_ROLE, {"address": bob.user.address, "role": "reviewer"})
    bob.refresh_from_db()
    assert bob.role == Role.REVIEWER


def test_once_anything_is_reserved_the_governance_settings_are_too(gov: Gov) -> None:
    _reserve(gov, ChangeKind.REWARD_POLICY)
    url = f"/admin/datadao/dao/{gov.dao.pk}/change/"
    page = _console(gov).post(url, _dao_form(gov.dao, governance_reserved=[]))
    assert page.status_code == 200 and "dao.governance" in page.content.decode()
    gov.dao.refresh_from_db()
    assert gov.dao.governance_reserved == ["reward.policy"]
    with pytest.raises(ReservedForGovernance):
        dao_services.dao_update(dao=gov.dao, actor=None, governance_timelock_seconds=0 + 5)
    _passed(gov, ChangeKind.GOVERNANCE, {"governance_reserved": []})
    gov.dao.refresh_from_db()
    assert gov.dao.governance_reserved == []


def test_a_reserved_release_is_refused_by_the_console_action(gov: Gov) -> None:
    _reserve(gov, ChangeKind.RELEASE_PUBLISH)
    data = {"action": "publish_release", "_selected_action": [gov.dataset.pk], "index": 0}
    page = _console(gov).post("/admin/datadao/dataset/", data, follow=True).content.decode()
    assert RESERVED in page and "release.publish" in page
