"""The governance API: proposing, voting and reading, and every refusal with its message."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from eth_account import Account

from datadao.governed import ChangeKind
from datadao.models import Dataset, Visibility
from governance import services, vote712
from governance.models import Proposal, Vote
from tests.governance.conftest import Gov, hours_ago, propose, sign_vote

pytestmark = pytest.mark.django_db

FOR, AGAINST = vote712.FOR, vote712.AGAINST
HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def as_member(client_for: Any, gov: Gov, who: str) -> Client:
    return client_for(gov.users[who])


def refused(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["detail"], body


def _proposal_body(**over: Any) -> dict[str, Any]:
    return {
        "title": "Open the DAO",
        "description": "Anyone may join.",
        "kind": "dao.join_policy",
        "change": {"join_policy": "open"},
        "voting_period_seconds": 3600,
        "quorum": 2,
        **over,
    }


def test_a_member_proposes_and_everyone_reads_it(gov: Gov, client_for: Any) -> None:
    client = as_member(client_for, gov, "alice")
    response = post(client, "/api/daos/gov/proposals", _proposal_body())
    assert response.status_code == 201, response.content
    created = response.json()
    proposal = Proposal.objects.get(pk=created["id"])
    assert created["hash"] == proposal.hash == vote712.proposal_hash(created["document"])
    assert created["status"] == "open" and created["proposer"] == gov.users["alice"].address
    assert created["document"]["dao"] == {
        "id": gov.dao.onchain_id,
        "slug": "gov",
        "chain_id": 31337,
    }
    assert created["eip712"]["primaryType"] == "Vote"
    assert created["eip712"]["domain"] == {"name": "datadao", "version": "1", "chainId": 31337}
    assert created["tally"]["votes"] == 0 and created["cid"] is None
    anonymous = Client()
    listed = anonymous.get("/api/daos/gov/proposals").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == proposal.pk
    assert anonymous.get(f"/api/proposals/{proposal.pk}").json()["hash"] == proposal.hash


def test_a_vote_is_recorded_changed_and_listed_with_the_public_tally(
    gov: Gov, client_for: Any
) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    client = as_member(client_for, gov, "alice")
    url = f"/api/proposals/{proposal.pk}/votes"
    now = int(time.time())
    first = post(client, url, sign_vote(gov.keys["alice"], proposal, AGAINST, timestamp=now - 5))
    assert first.status_code == 201, first.content
    assert first.json()["choice_name"] == "against" and first.json()["power"] == "1"
    changed = post(client, url, sign_vote(gov.keys["alice"], proposal, FOR, timestamp=now))
    assert changed.status_code == 200, changed.content
    votes = Client().get(url).json()
    assert votes["count"] == 1 and votes["results"][0]["choice"] == FOR
    assert votes["results"][0]["message"]["timestamp"] == now and votes["next"] is None
    tally = Client().get(f"/api/proposals/{proposal.pk}").json()["tally"]
    assert (tally["for"], tally["against"], tally["votes"]) == ("1", "0", 1)


def _vote(client: Client, proposal: Proposal, body: dict[str, Any]) -> Any:
    return post(client, f"/api/proposals/{proposal.pk}/votes", body)


def test_each_refused_vote_names_why_and_stores_nothing(gov: Gov, client_for: Any) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    alice = as_member(client_for, gov, "alice")
    key = gov.keys["alice"]
    # Another DAO's id as the space.
    refused(
        _vote(alice, proposal, sign_vote(key, proposal, FOR, space="0x" + "ab" * 32)),
        400,
        "wrong_dao",
        gov.dao.onchain_id,
    )
    # Another chain, another domain name.
    refused(
        _vote(alice, proposal, sign_vote(key, proposal, FOR, chain_id=1)),
        400,
        "wrong_domain",
        "chain 1",
    )
    refused(
        _vote(alice, proposal, sign_vote(key, proposal, FOR, domain_name="snapshot")),
        400,
        "wrong_domain",
    )
    # Another proposal's hash.
    refused(
        _vote(alice, proposal, sign_vote(key, proposal, FOR, proposal_hash="0x" + "cd" * 32)),
        400,
        "wrong_proposal",
        proposal.hash,
    )
    # Signed by bob's key while saying it is from alice.
    forged = sign_vote(gov.keys["bob"], proposal, FOR, voter=gov.users["alice"].address)
    refused(_vote(alice, proposal, forged), 400, "wrong_signer", gov.users["bob"].address)
    # Bob's own valid vote, sent by alice's session.
    refused(
        _vote(alice, proposal, sign_vote(gov.keys["bob"], proposal, FOR)),
        403,
        "wrong_voter",
        gov.users["alice"].address,
    )
    # A choice that is not 1, 2 or 3; a timestamp in the future; a high-s twin signature.
    refused(_vote(alice, proposal, sign_vote(key, proposal, 4)), 400, "bad_choice")
    future = sign_vote(key, proposal, FOR, timestamp=int(time.time()) + 3600)
    refused(_vote(alice, proposal, future), 400, "issued_in_future")
    body = sign_vote(key, proposal, FOR)
    raw = bytes.fromhex(body["signature"][2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (HALF_N - s).to_bytes(32, "big") + bytes([raw[64] ^ 1])
    refused(
        _vote(alice, proposal, {**body, "signature": "0x" + twin.hex()}),
        400,
        "bad_signature",
        "high s",
    )
    # Not JSON: 415.
    response = alice.post(f"/api/proposals/{proposal.pk}/votes", {"signature": "x"})
    refused(response, 415, "unsupported_type")
    assert not Vote.objects.filter(proposal=proposal).exists()


def test_a_replayed_or_older_vote_is_refused(gov: Gov, client_for: Any) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    alice = as_member(client_for, gov, "alice")
    now = int(time.time())
    newer = sign_vote(gov.keys["alice"], proposal, FOR, timestamp=now)
    older = sign_vote(gov.keys["alice"], proposal, AGAINST, timestamp=now - 60)
    assert _vote(alice, proposal, newer).status_code == 201
    refused(_vote(alice, proposal, newer), 409, "stale_vote", str(now))
    refused(_vote(alice, proposal, older), 409, "stale_vote")
    assert Vote.objects.get(proposal=proposal).choice == FOR


def test_a_non_member_cannot_vote_or_propose(gov: Gov, client_for: Any) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    stranger = Account.create()
    from datadao.services import user_get_or_create

    user, _ = user_get_or_create(address=stranger.address)
    client = client_for(user)
    refused(_vote(client, proposal, sign_vote(stranger, proposal, FOR)), 403, "not_member")
    refused(post(client, "/api/daos/gov/proposals", _proposal_body()), 403, "not_member")
    refused(post(Client(), "/api/daos/gov/proposals", _proposal_body()), 401, "unauthenticated")
    refused(_vote(Client(), proposal, sign_vote(stranger, proposal, FOR)), 401, "unauthenticated")


def test_a_member_who_joined_after_the_proposal_has_no_vote(gov: Gov, client_for: Any) -> None:
    from datadao.models import Membership
    from datadao.services import membership_add, user_get_or_create

    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(0.5))
    late = Account.create()
    user, _ = user_get_or_create(address=late.address)
    membership_add(dao=gov.dao, user=user, role="contributor", actor=None)
    assert Membership.objects.get(user=user).created_at > proposal.created_at
    refused(
        _vote(client_for(user), proposal, sign_vote(late, proposal, FOR)), 403, "no_voting_power"
    )


def test_voting_after_the_period_is_refused(gov: Gov, client_for: Any) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    alice = as_member(client_for, gov, "alice")
    refused(
        _vote(alice, proposal, sign_vote(gov.keys["alice"], proposal, FOR)), 409, "proposal_closed"
    )
    services.proposal_settle(proposal_id=proposal.pk)
    refused(
        _vote(alice, proposal, sign_vote(gov.keys["alice"], proposal, FOR)), 409, "proposal_closed"
    )


@pytest.mark.parametrize(
    ("kind", "change", "field", "words"),
    [
        (
            "dataset.schema",
            {"dataset": "D", "schema": {"columns": [{"name": "x", "type": "uuid"}]}},
            "change.schema",
            "columns[0].type",
        ),
        ("dataset.schema", {"dataset": 10**9, "schema": {}}, "change.dataset", "has no dataset"),
        ("dataset.schema", {"dataset": "D"}, "change.schema", "required"),
        (
            "dataset.status",
            {"dataset": "D", "status": "draft"},
            "change.status",
            "'open' or 'closed'",
        ),
        ("dataset.status", {"dataset": "D", "status": "open"}, "change.status", "already open"),
        ("dataset.license", {"dataset": "D", "license": "Not A Licence"}, "change.license", ""),
        ("reward.policy", {"dataset": "D", "per_label": -1}, "change.per_label", "whole number"),
        ("reward.policy", {"dataset": "D", "per_row": "1.5"}, "change.per_row", "whole number"),
        ("reward.policy", {"dataset": "D", "bonus": 1}, "change.bonus", "unknown field"),
        (
            "dao.join_policy",
            {"join_policy": "everyone"},
            "change.join_policy",
            "open, request, invite",
        ),
        (
            "membership.role",
            {"address": "0x" + "12" * 20, "role": "admin"},
            "change.address",
            "not a member",
        ),
        ("membership.role", {"address": "A", "role": "king"}, "change.role", "must be one of"),
        (
            "dao.governance",
            {"governance_reserved": ["dataset.colour"]},
            "change.governance_reserved",
            "dataset.colour",
        ),
        ("dao.governance", {"voting_power": "token"}, "change.voting_token", "token's address"),
        ("dataset.mood", {}, "kind", "must be one of"),
    ],
)
def test_a_malformed_change_is_refused_naming_the_field(
    gov: Gov, client_for: Any, kind: str, change: dict[str, Any], field: str, words: str
) -> None:
    change = {
        k: gov.dataset.pk if v == "D" else gov.users["alice"].address if v == "A" else v
        for k, v in change.items()
    }
    client = as_member(client_for, gov, "alice")
    response = post(client, "/api/daos/gov/proposals", _proposal_body(kind=kind, change=change))
    refused(response, 400, "bad_change", f"{field}" if field != "kind" else "kind must be", words)
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"title": ""}, "title:"),
        ({"quorum": 0}, "quorum:"),
        ({"quorum": "1e3"}, "quorum:"),
        ({"voting_period_seconds": 10}, "voting_period_seconds:"),
        ({"voting_period_seconds": "3600"}, "voting_period_seconds:"),
    ],
)
def test_a_malformed_proposal_is_refused_naming_the_field(
    gov: Gov, client_for: Any, over: dict[str, Any], words: str
) -> None:
    client = as_member(client_for, gov, "alice")
    refused(
        post(client, "/api/daos/gov/proposals", _proposal_body(**over)), 400, "bad_request", words
    )
    response = client.post("/api/daos/gov/proposals", _proposal_body())
    refused(response, 415, "unsupported_type")


def test_a_members_only_datasets_proposals_are_its_members(gov: Gov, client_for: Any) -> None:
    Dataset.objects.filter(pk=gov.dataset.pk).update(visibility=Visibility.MEMBERS)
    hidden = propose(gov, ChangeKind.DATASET_LICENSE, {"dataset": gov.dataset.pk, "license": "MIT"})
    shown = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    anonymous = Client()
    assert [p["id"] for p in anonymous.get("/api/daos/gov/proposals").json()["results"]] == [
        shown.pk
    ]
    missing = anonymous.get("/api/proposals/999999999")
    refused(anonymous.get(f"/api/proposals/{hidden.pk}"), 404, "not_found")
    assert missing.status_code == 404
    member = as_member(client_for, gov, "bob")
    assert member.get(f"/api/proposals/{hidden.pk}").status_code == 200
    listed = member.get("/api/daos/gov/proposals").json()
    assert {p["id"] for p in listed["results"]} == {hidden.pk, shown.pk}


def test_the_members_page_lists_proposals_with_vote_buttons(gov: Gov, client_for: Any) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    page = as_member(client_for, gov, "alice").get("/daos/gov/proposals").content.decode()
    assert proposal.title in page and proposal.hash in page
    assert 'class="vote" data-choice="1"' in page and "governance/vote.js" in page
    outsider = Client().get("/daos/gov/proposals").content.decode()
    assert proposal.title in outsider and 'class="vote"' not in outsider
    assert Client().get("/daos/nope/proposals").status_code == 404


def test_a_schema_refusal_reads_in_the_clients_language(gov: Gov, client_for: Any) -> None:
    """The schema's faults (``datadao.schema``, pure) are ``Detail``s: English as before, and
    each translated under ``Accept-Language: zh-Hans``; the code stays ``bad_change``."""
    schema = {"columns": [{"name": "x", "type": "uuid"}, {"name": "x", "type": "int"}]}
    body = _proposal_body(
        kind="dataset.schema", change={"dataset": gov.dataset.pk, "schema": schema}
    )
    client = as_member(client_for, gov, "alice")
    english = client.post(
        "/api/daos/gov/proposals", json.dumps(body), content_type="application/json"
    )
    chinese = client.post(
        "/api/daos/gov/proposals",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert english.status_code == chinese.status_code == 400
    assert english.json()["error"] == chinese.json()["error"] == "bad_change"
    assert english.json()["detail"] == (
        "change.schema: columns[0].type: must be one of int, float, bool, string, category, "
        "datetime, not 'uuid'; columns[1].name: duplicate column name 'x'"
    )
    assert chinese.json()["detail"] == (
        "change.schema：columns[0].type：必须是 int, float, bool, string, category, datetime "
        "之一，而不是 'uuid'; columns[1].name：列名 'x' 重复"
    )
    assert not Proposal.objects.exists()
