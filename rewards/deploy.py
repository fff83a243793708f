"""Deploying a DAO's distributor and checking that what is on chain is exactly our build."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from eth_account.signers.local import LocalAccount
from web3 import Web3

from datadao.keys import load_signer
from datadao.models import DAO
from datadao.services import audit_record, dao_update
from rewards.models import Epoch, Voucher
from rewards.onchain import artifact, sender


class DeployError(Exception):
    """The deployment failed or did not verify; the message says which."""


@dataclass(frozen=True)
class Deployment:
    address: str
    chain_id: int
    tx_hash: str
    block_number: int


def _our_build(w3: Web3, address: str, *, dao_id: str):  # type: ignore[no-untyped-def]
    """The distributor at ``address`` if it runs this build for ``dao_id``; else DeployError."""
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    if not code:
        raise DeployError(f"there is no contract at {address}")
    if not artifact.runtime_matches(code):
        raise DeployError(
            f"the code at {address} is not the DatadaoDistributor of this build "
            f"(solc {artifact.compiler()['version']})"
        )
    contract = w3.eth.contract(Web3.to_checksum_address(address), abi=artifact.contract()["abi"])
    found_dao = "0x" + bytes(contract.functions.daoId().call()).hex()
    if found_dao != dao_id.lower():
        raise DeployError(f"{address} pays DAO {found_dao}, not {dao_id}")
    return contract


def verify_distributor(
    w3: Web3, address: str, *, dao_id: str, signer: str, token: str | None = None
) -> None:
    """Raise ``DeployError`` unless ``address`` runs this build of the distributor, for this
    DAO's id, this signer (and this token, when given)."""
    contract = _our_build(w3, address, dao_id=dao_id)
    found_signer = contract.functions.signer().call()
    if found_signer.lower() != signer.lower():
        raise DeployError(f"{address} trusts signer {found_signer}, not {signer}")
    if token is not None and contract.functions.token().call().lower() != token.lower():
        raise DeployError(f"{address} pays in token {contract.functions.token().call()}")


def platform_signers(dao: DAO) -> set[str]:
    """The rewards signers a distributor of ``dao`` may trust (lowercase): every key that
    signed the DAO's epochs or vouchers, and the current one where this process holds it."""
    signers = set(Epoch.objects.filter(dao=dao).values_list("signer", flat=True))
    signers |= set(Voucher.objects.filter(dao=dao).values_list("signer", flat=True))
    # A process without the key still knows the signers of what was signed.
    with contextlib.suppress(ImproperlyConfigured):
        signers.add(load_signer("rewards").address)
    return {s.lower() for s in signers if s}


# (chain id, address, daoId) of distributors found to be ours: the build has no way to change
# its code or its immutables, so once verified, always so (per process).
_verified: set[tuple[int, str, str]] = set()


def dao_distributor_verify(w3: Web3, dao: DAO) -> None:
    """Raise ``DeployError`` unless the DAO's reward contract is this build of the distributor,
    for this DAO, trusting a platform rewards signer. The chain reader and the relay ask it
    first: a DAO's managers may set any contract whose ``daoId()`` answers the DAO's id, and
    one that is not ours could emit ``Claimed`` events for payments never made, or take the
    relayer's transactions and gas forever without ever holding a root."""
    key = (int(dao.chain_id), dao.reward_contract_address.lower(), dao.onchain_id.lower())
    if key in _verified:
        return
    contract = _our_build(w3, dao.reward_contract_address, dao_id=dao.onchain_id)
    found_signer = str(contract.functions.signer().call())
    if found_signer.lower() not in platform_signers(dao):
        raise DeployError(
            f"{dao.reward_contract_address} trusts signer {found_signer}, not the platform's "
            "rewards signer"
        )
    _verified.add(key)


def _wait(w3: Web3, tx_hash: str, timeout: float) -> dict:  # type: ignore[type-arg]
    found = sender.wait_for_receipt(w3, tx_hash, timeout=timeout)
    if found is None:
        raise DeployError(f"the deployment {tx_hash} was not mined within {timeout:.0f} s")
    return found


def distributor_deploy(
    *,
    dao: DAO,
    w3: Web3,
    token: str,
    signer: str,
    deployer: LocalAccount,
    timeout: float = 120.0,
) -> Deployment:
    """Deploy a DatadaoDistributor for ``dao`` (its ``onchain_id``, the rewards ``signer``),
    verify the deployed code against the committed build, then record it as the DAO's reward
    contract on the node's chain (``dao_update``, which checks the contract's daoId again)."""
    token = Web3.to_checksum_address(token)
    if not w3.eth.get_code(token):
        raise DeployError(f"there is no token contract at {token}")
    built = artifact.contract()
    factory = w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
    data = factory.constructor(
        token, Web3.to_checksum_address(signer), bytes.fromhex(dao.onchain_id.removeprefix("0x"))
    ).data_in_transaction
    call = {"data": data}
    gas = sender.estimate_gas(w3, deployer.address, call)
    nonce = int(w3.eth.get_transaction_count(deployer.address, "pending"))
    signed = sender.sign(w3, deployer, call, nonce=nonce, fees=sender.current_fees(w3), gas=gas)
    sender.broadcast(w3, signed.raw)
    found = _wait(w3, signed.tx_hash, timeout)
    if int(found.get("status", 0)) != 1 or not found.get("contractAddress"):
        raise DeployError(f"the deployment {signed.tx_hash} reverted")
    address = Web3.to_checksum_address(found["contractAddress"])
    verify_distributor(w3, address, dao_id=dao.onchain_id, signer=signer, token=token)
    chain_id = int(w3.eth.chain_id)
    dao_update(dao=dao, actor=None, chain_id=chain_id, reward_contract_address=address)
    audit_record(
        actor=None,
        dao=dao,
        verb="rewards.distributor_deployed",
        obj=dao,
        details={
            "address": address,
            "chain_id": chain_id,
            "tx": signed.tx_hash,
            "token": token,
            "signer": signer,
            "compiler": artifact.compiler()["version"],
        },
    )
    return Deployment(address, chain_id, signed.tx_hash, int(found["blockNumber"]))
