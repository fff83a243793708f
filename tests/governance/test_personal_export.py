"""A person's export holds the proposals they made and the votes they cast, as signed; not
anyone else's."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from datadao.governed import ChangeKind
from governance import vote712
from tests.governance.conftest import Gov, cast, hours_ago, propose

pytestmark = pytest.mark.django_db


def _export(gov: Gov, who: str) -> dict:  # type: ignore[type-arg]
    client = Client()
    client.force_login(gov.users[who])
    response = client.get("/api/me/export.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "governance/governance.json" in archive.namelist()
    return json.loads(archive.read("governance/governance.json"))


def test_the_export_holds_my_proposals_and_signed_votes_only(gov: Gov) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    mine, _ = cast(gov, "alice", proposal, vote712.FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, vote712.AGAINST, at=hours_ago(1.8))
    alice = _export(gov, "alice")
    assert [p["hash"] for p in alice["proposals"]] == [proposal.hash]
    assert len(alice["votes"]) == 1
    vote = alice["votes"][0]
    assert vote["signature"] == mine.signature and vote["choice"] == vote712.FOR
    assert vote["message"]["from"].lower() == gov.users["alice"].address.lower()
    bob = _export(gov, "bob")
    assert bob["proposals"] == [] and [v["choice"] for v in bob["votes"]] == [vote712.AGAINST]
