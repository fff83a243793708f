"""/me/rewards and the claim file: amounts in tokens with the symbol, accrued and settled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client, override_settings

from contributions.models import Contribution, Status
from datadao.models import DAO
from datadao.openapi.components import SCHEMAS
from rewards import services
from rewards.models import RewardPolicy
from rewards.views import allocation_claim
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
CONTRACT = "0x" + "Ab" * 20


@pytest.fixture(autouse=True)
def _reward_signer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _credit(dataset, user, score: int, n: int) -> None:  # type: ignore[no-untyped-def]
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=user,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"s{n}",
        status=Status.PINNED,
        cid=f"bafkreitest{n}",
        score=score,
    )
    services.reward_credit_contribution(contribution=contribution)


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_my_rewards_shows_accrued_and_settled_amounts_in_tokens(
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    dao = DAOFactory(token_symbol="AIR", token_decimals=18)
    dataset = DatasetFactory(dao=dao)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=5 * 10**18)
    me = UserFactory()
    _credit(dataset, me, 5000, 1)  # 2.5 AIR, settled below
    services.epoch_close(dao=dao, actor=None)
    _credit(dataset, me, 10000, 2)  # 5 AIR, accruing in the open epoch
    _credit(dataset, me, 500, 3)  # 0.25 AIR, accruing
    other = DAOFactory(token_symbol="USDC", token_decimals=6)
    other_set = DatasetFactory(dao=other)
    RewardPolicy.objects.create(dataset=other_set, per_contribution=1_500_000)
    _credit(other_set, me, 10000, 4)  # 1.5 USDC
    _credit(dataset, UserFactory(), 10000, 5)  # someone else's: not on my page

    client = _as(me)
    # Session, user, settled, accrued and their DAOs, the nav's console check, vouchers,
    # royalty credits (their payments only when there are some), clawbacks (their deductions
    # only when there are some): however many epochs and DAOs.
    with django_assert_num_queries(9):
        body = client.get("/me/rewards").content.decode()
    accruing = body[body.index("Accruing in open epochs") : body.index("Settled (claimable)")]
    assert '<td class="amount">5.25 AIR</td>' in accruing
    assert '<td class="amount">1.5 USDC</td>' in accruing
    settled = body[body.index("Settled (claimable)") :]
    assert '<td class="amount">2.5 AIR</td>' in settled
    assert "2500000000000000000 " not in body.replace('"amount": "2500000000000000000"', "")
    assert "has not configured a reward contract yet" in settled


def test_the_claim_keeps_the_integer_and_adds_tokens_and_the_contract() -> None:
    dao = DAOFactory(token_symbol="AIR", token_decimals=18)
    dataset = DatasetFactory(dao=dao)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    me = UserFactory()
    _credit(dataset, me, 7500, 1)
    epoch = services.epoch_close(dao=dao, actor=None)
    allocation = epoch.allocations.get()

    claim = _as(me).get(f"/api/rewards/allocations/{allocation.pk}").json()
    assert claim["amount"] == "750000000000000000"  # exact, for the contract
    assert claim["amountTokens"] == "0.75" and claim["display"] == "0.75 AIR"
    assert claim["token"] == {"symbol": "AIR", "decimals": 18}
    assert "contract" not in claim  # never a null a wallet could take for an address
    assert "has not configured a reward contract yet" in claim["contractMissing"]
    # The API description (a closed object) says exactly these keys.
    described = SCHEMAS["Claim"]
    assert set(claim) <= set(described["properties"]) and set(described["required"]) <= set(claim)

    DAO.objects.filter(pk=dao.pk).update(reward_contract_address=CONTRACT)
    allocation.refresh_from_db()
    allocation.epoch.dao.refresh_from_db()
    claim = allocation_claim(allocation)
    assert claim["contract"] == CONTRACT and "contractMissing" not in claim
    page = _as(me).get("/me/rewards").content.decode()
    assert f"Claim from <code>{CONTRACT}</code>" in page
    assert json.dumps(None) not in page.split("<textarea")[1].split("</textarea>")[0]


def test_nothing_yet_says_so() -> None:
    body = _as(UserFactory()).get("/me/rewards").content.decode()
    assert "Nothing accruing right now" in body and "No settled rewards yet" in body


def test_the_consoles_simulate_and_close_speak_in_tokens() -> None:
    dao = DAOFactory(token_symbol="AIR", token_decimals=18)
    dataset = DatasetFactory(dao=dao)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=4 * 10**18)
    me = UserFactory()
    _credit(dataset, me, 10000, 1)  # 4 AIR
    _credit(dataset, me, 6250, 2)  # 2.5 AIR
    epoch = services.epoch_current(dao=dao)
    client = _as(dao.creator)

    def act(action: str) -> str:
        data = {"action": action, "_selected_action": [epoch.pk]}
        return client.post("/admin/rewards/epoch/", data, follow=True).content.decode()

    simulated = act("simulate_close")
    assert f"total 6.5 AIR; {me.address}: 6.5 AIR" in simulated
    closed = act("close_epochs")
    assert "closed, total 6.5 AIR, root 0x" in closed
    assert "6500000000000000000" not in closed
    detail = client.get(f"/admin/rewards/epoch/{epoch.pk}/change/").content.decode()
    assert "6.5 AIR" in detail  # the total and the allocation (the tree dump keeps integers)
    listing = client.get("/admin/rewards/epoch/").content.decode()
    assert "6.5 AIR" in listing and "6500000000000000000" not in listing
