"""A DAO whose members hold real keys, and helpers to propose and sign votes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from datadao import services as dao_services
from datadao.models import DAO, Dataset, DatasetStatus, Membership, Role, User
from governance import services, vote712
from governance.models import Proposal
from tests.factories import TABULAR_SCHEMA


@dataclass
class Gov:
    dao: DAO
    dataset: Dataset
    keys: dict[str, LocalAccount]
    users: dict[str, User] = field(default_factory=dict)


def sign_vote(
    key: LocalAccount,
    proposal: Proposal,
    choice: int,
    *,
    timestamp: int | None = None,
    chain_id: int | None = None,
    space: str | None = None,
    proposal_hash: str | None = None,
    voter: str | None = None,
    domain_name: str | None = None,
) -> dict[str, Any]:
    """The body a wallet would POST: the typed data as built by a client, and its signature."""
    typed = vote712.eip712(chain_id if chain_id is not None else proposal.dao.chain_id)
    if domain_name is not None:
        typed["domain"]["name"] = domain_name
    typed["message"] = {
        "from": voter or key.address,
        "space": space or proposal.dao.onchain_id,
        "timestamp": timestamp if timestamp is not None else int(time.time()),
        "proposal": proposal_hash or proposal.hash,
        "choice": choice,
        "reason": "",
        "app": "datadao",
        "metadata": "",
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), key.key)
    return {"typedData": typed, "signature": "0x" + signed.signature.hex().removeprefix("0x")}


def cast(gov: Gov, who: str, proposal: Proposal, choice: int, *, at: datetime, **kw: Any) -> Any:
    body = sign_vote(gov.keys[who], proposal, choice, timestamp=int(at.timestamp()), **kw)
    return services.vote_cast(
        proposal=proposal,
        user=gov.users[who],
        typed_data=body["typedData"],
        signature=body["signature"],
        now=at,
    )


def propose(
    gov: Gov,
    kind: str,
    change: dict[str, Any],
    *,
    at: datetime | None = None,
    quorum: int | str = 2,
    period: int = 3600,
    who: str = "alice",
) -> Proposal:
    return services.proposal_create(
        dao=gov.dao,
        proposer=gov.users[who],
        title=f"Change {kind}",
        description="Why: because.",
        kind=kind,
        change=change,
        voting_period_seconds=period,
        quorum=quorum,
        now=at,
    )


def hours_ago(n: float) -> datetime:
    return timezone.now() - timedelta(hours=n)


@pytest.fixture
def gov(db: None) -> Gov:
    """A DAO (one member, one vote) with a creator, an admin and three contributors, each
    with a key, and an open tabular dataset."""
    keys = {name: Account.create() for name in ("creator", "admin", "alice", "bob", "carol")}
    users = {
        name: dao_services.user_get_or_create(address=key.address)[0] for name, key in keys.items()
    }
    dao = dao_services.dao_create(
        creator=users["creator"], name="Gov DAO", slug="gov", token_symbol="GOV", chain_id=31337
    )
    roles = {"admin": Role.ADMIN, "alice": Role.CONTRIBUTOR, "bob": Role.CONTRIBUTOR}
    roles["carol"] = Role.CONTRIBUTOR
    for name, role in roles.items():
        dao_services.membership_add(dao=dao, user=users[name], role=role, actor=None)
    dataset = dao_services.dataset_create(
        dao=dao,
        actor=None,
        name="Table",
        slug="table",
        kind="tabular",
        schema=dict(TABULAR_SCHEMA),
        license="CC-BY-4.0",
        status=DatasetStatus.OPEN,
    )
    # Memberships must predate the proposals the tests make "hours ago".

    Membership.objects.filter(dao=dao).update(created_at=timezone.now() - timedelta(days=30))
    # Short votes keep the tests quick; the default minimum (a day) is tested on its own.
    DAO.objects.filter(pk=dao.pk).update(governance_min_period_seconds=60)
    dao.refresh_from_db()
    return Gov(dao=dao, dataset=dataset, keys=keys, users=users)
