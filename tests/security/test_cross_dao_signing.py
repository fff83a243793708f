"""Cross-DAO signing: one DAO must never make the platform sign something that another DAO's
distributor pays.

One reward signer key signs for every DAO, and anyone signed in can found a DAO and type in
any contract address. The attack: found a DAO, point it at the victim's distributor (or at any
other address), create a dataset paying 10**24 per contribution, upload one CSV, close an
epoch, then relay the signed root (or a signed voucher) to the victim's distributor and drain
it, or take epoch numbers the victim has not set yet.

Everything runs through the platform's real entry points (the found-a-DAO page, the console,
the upload API, the pipeline stages run in this process, ``epoch_close``, ``voucher_issue``)
and the real DatadaoDistributor on a local py-evm chain (tests/rewards/evm.py). The chain is
made readable to the platform, where a test says so, by handing its web3 provider to
``CHAIN_RPC_URLS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from contributions.models import Contribution, Status
from contributions.tasks import process_contribution
from datadao.models import DAO, DatasetStatus, Role, User
from datadao.services import (
    dao_create,
    dao_update,
    dataset_create,
    dataset_set_status,
    membership_add,
)
from rewards import services as rewards
from rewards.models import Epoch, RewardPolicy
from rewards.tree_store import allocation_proof
from rewards.units import format_units
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import UserFactory
from tests.rewards import evm
from tests.rewards.conftest import (  # noqa: F401  (fixtures)
    REWARDS_SIGNER_KEY,
    evm_artifacts,
    rewards_signer,
    w3,
)

pytestmark = pytest.mark.django_db

PER_CONTRIBUTION = 10**24  # what the attacker's dataset pays
VICTIM_POOL = 10 * PER_CONTRIBUTION


@pytest.fixture(autouse=True)
def _signer_and_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARDS_SIGNER_KEY)
    with override_settings(
        IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs", CHAIN_RPC_URLS={}
    ):
        yield


def _readable(chain: Web3) -> override_settings:
    """The platform reads this chain (the provider stands in for an RPC URL)."""
    return override_settings(CHAIN_RPC_URLS={chain.eth.chain_id: chain.provider})


def _dao_id(dao: DAO) -> bytes:
    return bytes.fromhex(dao.onchain_id[2:])


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@dataclass
class World:
    w3: Web3
    token: Contract
    victim: DAO
    victim_distributor: Contract
    attacker: User
    attacker_dao: DAO


@pytest.fixture
def world(
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> World:
    """The victim DAO with its funded distributor (deployed for its onchain_id and set through
    ``dao_update`` on a readable chain), and an attacker who founded his own DAO on the
    founding page. The attacker's wallet is an account of the local chain."""
    chain_id = w3.eth.chain_id
    victim = dao_create(
        creator=UserFactory(), name="Victim", slug="victim", token_symbol="VIC", chain_id=chain_id
    )
    token, victim_distributor = evm.deploy_distributor(
        w3, rewards_signer.address, victim.onchain_id, artifacts=evm_artifacts
    )
    evm.fund(token, victim_distributor.address, VICTIM_POOL)
    with _readable(w3):
        victim = dao_update(
            dao=victim, actor=victim.creator, reward_contract_address=victim_distributor.address
        )

    attacker = UserFactory(address=w3.eth.accounts[1])
    response = _as(attacker).post(
        "/daos/new",
        {"name": "Attacker", "slug": "attacker", "token_symbol": "ATK", "chain_id": chain_id},
    )
    assert response.status_code == 302, response.content
    attacker_dao = DAO.objects.get(slug="attacker")
    assert attacker_dao.onchain_id != victim.onchain_id
    return World(w3, token, victim, victim_distributor, attacker, attacker_dao)


def _paying_dataset(dao: DAO, creator: User, slug: str = "loot"):  # type: ignore[no-untyped-def]
    dataset = dataset_create(
        dao=dao,
        actor=creator,
        name=slug.title(),
        slug=slug,
        kind="tabular",
        schema=CSV_SCHEMA,
        license="CC0-1.0",
    )
    dataset_set_status(dataset=dataset, actor=creator, status=DatasetStatus.OPEN)
    response = _as(creator).post(
        "/admin/rewards/rewardpolicy/add/",
        # Typed in tokens: the DAO's token has the default 18 decimals.
        {
            "dataset": dataset.pk,
            "per_contribution": format_units(PER_CONTRIBUTION, 18),
            "per_label": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert RewardPolicy.objects.get(dataset=dataset).per_contribution == PER_CONTRIBUTION
    return dataset


def _upload_and_process(user: User, dataset, start: int = 0) -> Contribution:  # type: ignore[no-untyped-def]
    """One CSV through the upload API, then the pipeline's task run in this process."""
    response = _as(user).post(
        f"/api/datasets/{dataset.pk}/contributions",
        {"file": SimpleUploadedFile("rows.csv", good_csv(20, start=start))},
    )
    assert response.status_code == 201, response.content
    contribution = Contribution.objects.get(pk=response.json()["id"])
    process_contribution.apply(args=[contribution.pk]).get()
    contribution.refresh_from_db()
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    # The validator's proof names the DAO, so it cannot be passed off as another DAO's.
    assert contribution.proof.typed_data["message"]["daoId"] == dataset.dao.onchain_id
    return contribution


def _attacker_epoch(world: World) -> Epoch:
    dataset = _paying_dataset(world.attacker_dao, world.attacker)
    _upload_and_process(world.attacker, dataset)
    epoch = rewards.epoch_close(dao=world.attacker_dao, actor=world.attacker)
    assert epoch.number == 1 and int(epoch.total) > 0
    return epoch


def _replay_root_and_claim(world: World, epoch: Epoch) -> None:
    """Everything the attacker can try with the signed root on the victim's distributor; each
    must revert, and the victim's epoch stays unset."""
    victim = world.victim_distributor
    allocation = epoch.allocations.get()
    amount = int(allocation.amount)
    args = (epoch.number, epoch.root, amount, epoch.root_signature)
    # As signed: the root names the attacker's DAO, which this distributor does not pay.
    with evm.expect_revert(victim, "WrongDao", _dao_id(world.attacker_dao)):
        evm.transact(world.w3, victim.functions.setEpochRoot(_dao_id(world.attacker_dao), *args))
    # Relabelled as the victim's: the signature no longer matches the struct.
    with evm.expect_revert(victim, "InvalidSignature"):
        evm.transact(world.w3, victim.functions.setEpochRoot(_dao_id(world.victim), *args))
    # So the epoch number is not taken, and there is nothing to claim against.
    assert victim.functions.epochRoot(epoch.number).call() == bytes(32)
    with evm.expect_revert(victim, "UnknownEpoch", epoch.number):
        evm.transact(
            world.w3,
            victim.functions.claim(epoch.number, amount, allocation_proof(allocation)),
            sender=world.attacker.address,
        )


def _replay_voucher(world: World) -> None:
    """The attacker, as his DAO's creator, issues himself a voucher and relays it to the
    victim's distributor, as signed and relabelled as the victim's; both revert."""
    victim = world.victim_distributor
    voucher = rewards.voucher_issue(
        dao=world.attacker_dao,
        contributor=world.attacker.address,
        amount=PER_CONTRIBUTION,
        deadline=evm.latest_timestamp(world.w3) + 3600,
        dataset_id="0x" + "ab" * 32,
        actor=world.attacker,
    )
    fields = (
        voucher.contributor,
        int(voucher.amount),
        int(voucher.nonce),
        voucher.deadline,
        bytes.fromhex(voucher.dataset_id[2:]),
    )
    as_signed = (_dao_id(world.attacker_dao), *fields)
    with evm.expect_revert(victim, "WrongDao", _dao_id(world.attacker_dao)):
        evm.transact(world.w3, victim.functions.claimVoucher(as_signed, voucher.signature))
    relabelled = (_dao_id(world.victim), *fields)
    with evm.expect_revert(victim, "InvalidSignature"):
        evm.transact(world.w3, victim.functions.claimVoucher(relabelled, voucher.signature))


def _victim_still_settles_its_epoch_one(world: World) -> None:
    """The victim closes its own first epoch and both relays its root and claims it."""
    victim_creator = world.victim.creator
    dataset = _paying_dataset(world.victim, victim_creator, slug="air")
    member = UserFactory(address=world.w3.eth.accounts[2])
    membership_add(dao=world.victim, user=member, role=Role.CONTRIBUTOR, actor=victim_creator)
    contribution = _upload_and_process(member, dataset, start=1000)
    epoch = rewards.epoch_close(dao=world.victim, actor=victim_creator)
    assert epoch.number == 1
    victim = world.victim_distributor
    evm.transact(
        world.w3,
        victim.functions.setEpochRoot(
            _dao_id(world.victim), 1, epoch.root, int(epoch.total), epoch.root_signature
        ),
    )
    allocation = epoch.allocations.get()
    assert allocation.account == contribution.contributor.address
    evm.transact(
        world.w3,
        victim.functions.claim(1, int(allocation.amount), allocation_proof(allocation)),
        sender=member.address,
    )
    assert world.token.functions.balanceOf(member.address).call() == int(allocation.amount)


def _attacker_got_nothing(world: World) -> None:
    assert world.token.functions.balanceOf(world.attacker.address).call() == 0


# --- The platform refuses to point a second DAO at the victim's contract --------------------------


def test_no_service_points_a_second_dao_at_the_victims_contract(world: World) -> None:
    # The chain is not readable here: the refusal comes from the shared (chain, contract) alone.
    address = world.victim_distributor.address
    for spelling in (address, address.lower(), "0x" + address[2:].upper()):
        with pytest.raises(ValidationError, match="already another DAO's reward contract"):
            dao_update(
                dao=world.attacker_dao, actor=world.attacker, reward_contract_address=spelling
            )
    with pytest.raises(ValidationError, match="already another DAO's reward contract"):
        dao_create(
            creator=world.attacker,
            name="Attacker 2",
            slug="attacker-2",
            token_symbol="ATK",
            chain_id=world.w3.eth.chain_id,
            reward_contract_address=address.lower(),
        )
    # The console shows the refusal on the form and changes nothing.
    response = _as(world.attacker).post(
        f"/admin/datadao/dao/{world.attacker_dao.pk}/change/",
        {
            "name": "Attacker",
            "token_symbol": "ATK",
            "chain_id": world.w3.eth.chain_id,
            "description": "",
            "reward_contract_address": address,
            "epoch_days": "",
        },
    )
    assert response.status_code == 200
    assert "Another DAO already uses this reward contract on this chain" in (
        response.content.decode()
    )
    # Past every service, the database itself refuses, in any letter case.
    for spelling in (address, address.lower()):
        with (
            pytest.raises(IntegrityError, match="dao_reward_contract_unique"),
            transaction.atomic(),
        ):
            DAO.objects.filter(pk=world.attacker_dao.pk).update(reward_contract_address=spelling)
    world.attacker_dao.refresh_from_db()
    assert world.attacker_dao.reward_contract_address == ""


# --- Pointed elsewhere, the attacker's signatures are useless on the victim's contract --------


def test_roots_and_vouchers_signed_for_an_attackers_dao_do_not_pay_on_the_victims_contract(
    world: World,
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> None:
    # The attacker deploys his own distributor and, the chain being unreadable to the platform,
    # could point his DAO at any address: he uses his own, on the victim's chain, with the
    # victim's token.
    _, own = evm.deploy_distributor(
        world.w3,
        rewards_signer.address,
        world.attacker_dao.onchain_id,
        artifacts=evm_artifacts,
        token=world.token,
    )
    world.attacker_dao = dao_update(
        dao=world.attacker_dao, actor=world.attacker, reward_contract_address=own.address
    )
    epoch = _attacker_epoch(world)
    assert epoch.root_typed_data["domain"]["verifyingContract"] == own.address
    assert epoch.root_typed_data["message"]["daoId"] == world.attacker_dao.onchain_id

    _replay_root_and_claim(world, epoch)
    _replay_voucher(world)
    _attacker_got_nothing(world)
    assert world.token.functions.balanceOf(world.victim_distributor.address).call() == VICTIM_POOL
    _victim_still_settles_its_epoch_one(world)


def test_squatting_the_victims_contract_before_the_victim_signs_nothing_it_pays(
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> None:
    # The victim has deployed its distributor but not yet entered it on the platform; the
    # attacker enters that very address for his DAO first, on a chain the platform cannot
    # read. The platform then signs for exactly the victim's (chain, contract): only the
    # daoId in the struct stands between the attacker and the victim's pool.
    chain_id = w3.eth.chain_id
    victim = dao_create(
        creator=UserFactory(), name="Victim", slug="victim", token_symbol="VIC", chain_id=chain_id
    )
    token, victim_distributor = evm.deploy_distributor(
        w3, rewards_signer.address, victim.onchain_id, artifacts=evm_artifacts
    )
    evm.fund(token, victim_distributor.address, VICTIM_POOL)
    attacker = UserFactory(address=w3.eth.accounts[1])
    squat = {
        "creator": attacker,
        "name": "Attacker",
        "slug": "attacker",
        "token_symbol": "ATK",
        "chain_id": chain_id,
        "reward_contract_address": victim_distributor.address,
    }
    # Where the platform reads the chain, the squat itself is refused.
    founded_first = f"pays DAO id {victim.onchain_id}, and a new DAO gets its own id when founded"
    with _readable(w3), pytest.raises(ValidationError, match=founded_first):
        dao_create(**squat)
    assert not DAO.objects.filter(slug="attacker").exists()
    attacker_dao = dao_create(**squat)
    world = World(w3, token, victim, victim_distributor, attacker, attacker_dao)

    epoch = _attacker_epoch(world)
    assert epoch.root_typed_data["domain"] == {
        "name": "DatadaoDistributor",
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": victim_distributor.address,
    }
    _replay_root_and_claim(world, epoch)
    _replay_voucher(world)
    _attacker_got_nothing(world)


# --- Where the chain is readable, a DAO only points at a contract deployed for it -------------


def test_a_readable_chain_refuses_a_contract_deployed_for_another_dao(
    world: World,
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> None:
    w3_ = world.w3
    # A second distributor carrying the victim's id at a fresh address: the unique (chain,
    # contract) does not catch it; reading its daoId() does.
    _, copy = evm.deploy_distributor(
        w3_, rewards_signer.address, world.victim.onchain_id, artifacts=evm_artifacts
    )
    with _readable(w3_):
        with pytest.raises(ValidationError) as refused:
            dao_update(
                dao=world.attacker_dao, actor=world.attacker, reward_contract_address=copy.address
            )
        assert refused.value.message_dict["reward_contract_address"] == [
            f"The contract at {copy.address} on chain {w3_.eth.chain_id} pays DAO id "
            f"{world.victim.onchain_id}, not this DAO's ({world.attacker_dao.onchain_id}); "
            "deploy a DatadaoDistributor with this DAO's id and use its address."
        ]
        # Not a distributor at all, and no contract at all.
        with pytest.raises(ValidationError, match="does not answer daoId\\(\\); it is not a"):
            dao_update(
                dao=world.attacker_dao,
                actor=world.attacker,
                reward_contract_address=world.token.address,
            )
        with pytest.raises(ValidationError, match="There is no contract at 0x"):
            dao_update(
                dao=world.attacker_dao,
                actor=world.attacker,
                reward_contract_address=world.attacker.address,
            )
        # The console says the same on the form.
        response = _as(world.attacker).post(
            f"/admin/datadao/dao/{world.attacker_dao.pk}/change/",
            {
                "name": "Attacker",
                "token_symbol": "ATK",
                "chain_id": w3_.eth.chain_id,
                "description": "",
                "reward_contract_address": copy.address,
                "epoch_days": "",
            },
        )
        assert response.status_code == 200
        assert f"pays DAO id {world.victim.onchain_id}" in response.content.decode()
        world.attacker_dao.refresh_from_db()
        assert world.attacker_dao.reward_contract_address == ""

        # Its own distributor is accepted.
        _, own = evm.deploy_distributor(
            w3_, rewards_signer.address, world.attacker_dao.onchain_id, artifacts=evm_artifacts
        )
        dao_update(
            dao=world.attacker_dao, actor=world.attacker, reward_contract_address=own.address
        )
    world.attacker_dao.refresh_from_db()
    assert world.attacker_dao.reward_contract_address == own.address


def test_an_unreachable_configured_chain_refuses_rather_than_guesses(world: World) -> None:
    unreachable = {world.w3.eth.chain_id: "http://127.0.0.1:9/rpc"}
    with (
        override_settings(CHAIN_RPC_URLS=unreachable),
        pytest.raises(ValidationError, match=r"Could not read the contract at 0x.*try again"),
    ):
        dao_update(
            dao=world.attacker_dao,
            actor=world.attacker,
            reward_contract_address="0x" + "12" * 20,
        )
