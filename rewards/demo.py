"""The demo's rewards: a policy on the demo datasets and an epoch closed once the worker has
pinned the demo contributions (``run`` shows a closed epoch with claims)."""

from __future__ import annotations

from django.db import transaction

from datadao.models import DAO
from rewards.models import Epoch, EpochStatus, RewardPolicy

DEMO_REWARD = 10**18  # 1 token (18 decimals) for a contribution scoring 10000


def load_demo_rewards(*, dao: DAO, expected_credits: int) -> None:
    """Reward policies on every demo dataset; unless an epoch is already closed, queue the
    task that closes the first one when the demo's credits have arrived."""
    for dataset in dao.datasets.all():
        # Labels are paid too (per settled label, by reputation and consensus agreement).
        per_label = DEMO_REWARD // 10 if dataset.kind == "labeling" else 0
        RewardPolicy.objects.get_or_create(
            dataset=dataset, defaults={"per_contribution": DEMO_REWARD, "per_label": per_label}
        )
    if Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED).exists():
        return
    from rewards.tasks import close_demo_epoch

    transaction.on_commit(
        lambda: close_demo_epoch.apply_async(args=[dao.pk, expected_credits], countdown=5)
    )


# The local development chain the demo deploys to when one is running (bin/run detects it).
DEMO_CHAIN_ID = 31337


def load_demo_chain(*, dao: DAO) -> str:
    """On a local development chain in ``CHAIN_RPC_URLS`` (chain 31337 only) with a
    ``DEPLOYER_KEY``: a test token and the DAO's distributor, deployed, verified and funded,
    so the demo's epoch is signed for it, relayed, and claimable from a wallet. Returns what
    it did; never fails the demo (no chain, no key: nothing happens)."""
    import logging

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from datadao.chain import _web3
    from datadao.keys import load_signer

    if dao.reward_contract_address:
        return "the DAO already has a reward contract"
    if DEMO_CHAIN_ID not in settings.CHAIN_RPC_URLS:
        return "no local chain"
    try:
        deployer = load_signer("deployer")
        signer = load_signer("rewards").address
    except ImproperlyConfigured:
        return "no deployer or rewards key"
    try:
        with transaction.atomic():  # a failure leaves the demo's transaction usable
            return _deploy_demo(dao, _web3(DEMO_CHAIN_ID), deployer, signer)
    except Exception as exc:  # the demo goes on without a chain
        logging.getLogger(__name__).warning("demo distributor not deployed: %s", exc)
        return f"not deployed: {exc}"


def _deploy_demo(dao: DAO, w3, deployer, signer: str) -> str:  # type: ignore[no-untyped-def]
    from rewards.deploy import distributor_deploy
    from rewards.onchain import artifact, sender

    if int(w3.eth.chain_id) != DEMO_CHAIN_ID:
        return "the chain is not the local development chain"

    def send(call: dict) -> dict:  # type: ignore[type-arg]
        nonce = w3.eth.get_transaction_count(deployer.address, "pending")
        gas = sender.estimate_gas(w3, deployer.address, call)
        signed = sender.sign(w3, deployer, call, nonce=nonce, fees=sender.current_fees(w3), gas=gas)
        sender.broadcast(w3, signed.raw)
        found = sender.wait_for_receipt(w3, signed.tx_hash, timeout=30)
        if found is None:
            raise TimeoutError(f"{signed.tx_hash} not mined")
        return found

    token_build = artifact.contract("TestToken")
    token = send({"data": token_build["bytecode"]})["contractAddress"]
    deployment = distributor_deploy(dao=dao, w3=w3, token=token, signer=signer, deployer=deployer)
    mint = w3.eth.contract(token, abi=token_build["abi"]).functions.mint(deployment.address, 10**24)
    send({"to": token, "data": mint._encode_transaction_data()})
    return f"deployed at {deployment.address}"
