"""On-chain proof: the off-chain Merkle tree and EIP-712 signatures are accepted by the reference
DatadaoDistributor on a local EVM, and every forgery the contract must refuse is refused with
its custom error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_keys.constants import SECPK1_N
from eth_utils import keccak, to_bytes
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from rewards.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    claim_typed_data,
    epoch_root_typed_data,
    recover_typed_data,
    sign_typed_data,
    typed_data_digest,
)
from rewards.merkle import StandardMerkleTree, verify
from tests.rewards import evm
from tests.rewards.conftest import DAO_ID

DAO_ID_BYTES = to_bytes(hexstr=DAO_ID)
OTHER_DAO_ID = "0x" + "0e" * 32

EPOCH = 7
DATASET_ID = "0x" + keccak(text="dataset:weather-2024").hex()
ONE_DAY = 86_400


def _digest(payload: dict[str, Any]) -> bytes:
    # The EIP-191 0x01 digest, computed independently of rewards.eip712 so a shared encoding bug
    # cannot hide: the contract computes the same bytes from its own typehashes.
    message = encode_typed_data(full_message=payload)
    return keccak(b"\x19" + message.version + message.header + message.body)


@dataclass(frozen=True)
class Epoch:
    tree: StandardMerkleTree
    allocations: list[tuple[str, int]]
    total: int

    def proof(self, account: str) -> list[str]:
        index = next(i for i, (a, _) in enumerate(self.allocations) if a == account)
        return self.tree.proof(index)


def _epoch_for(w3: Web3) -> Epoch:
    # Distinct amounts, and five leaves (not a power of two) so some proofs are shorter than
    # others: an off-by-one in the tree layout shows up as one account failing to claim.
    allocations = [
        (account, (i + 1) * 10**18 + i) for i, account in enumerate(w3.eth.accounts[1:6])
    ]
    return Epoch(
        tree=StandardMerkleTree.of(allocations),
        allocations=allocations,
        total=sum(amount for _, amount in allocations),
    )


def _sign_root(
    signer: LocalAccount,
    distributor: Contract,
    epoch: int,
    root: str,
    total: int,
    dao_id: str = DAO_ID,
) -> str:
    payload = epoch_root_typed_data(
        dao_id=dao_id,
        epoch=epoch,
        root=root,
        total=total,
        chain_id=distributor.w3.eth.chain_id,
        verifying_contract=distributor.address,
    )
    return sign_typed_data(payload, signer)


def _set_root(distributor: Contract, signer: LocalAccount, epoch: int, tree_epoch: Epoch) -> None:
    signature = _sign_root(signer, distributor, epoch, tree_epoch.tree.root, tree_epoch.total)
    evm.transact(
        distributor.w3,
        distributor.functions.setEpochRoot(
            DAO_ID_BYTES, epoch, tree_epoch.tree.root, tree_epoch.total, signature
        ),
    )


@pytest.fixture
def epoch(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> Epoch:
    """An epoch tree over five accounts whose signed root is already on-chain."""
    _, distributor = distributor_deployment
    tree_epoch = _epoch_for(w3)
    _set_root(distributor, rewards_signer, EPOCH, tree_epoch)
    return tree_epoch


# --- Encoding parity --------------------------------------------------------------------------


def test_off_chain_digests_match_the_contract(
    w3: Web3, distributor_deployment: tuple[Contract, Contract]
) -> None:
    _, distributor = distributor_deployment
    chain_id = w3.eth.chain_id
    root = "0x" + "ab" * 32
    root_payload = epoch_root_typed_data(
        dao_id=DAO_ID,
        epoch=3,
        root=root,
        total=12345,
        chain_id=chain_id,
        verifying_contract=distributor.address,
    )
    on_chain = distributor.functions.epochRootDigest(
        DAO_ID_BYTES, 3, to_bytes(hexstr=root), 12345
    ).call()
    assert on_chain == _digest(root_payload) == typed_data_digest(root_payload)

    voucher = (
        DAO_ID_BYTES,
        w3.eth.accounts[2],
        5 * 10**18,
        9,
        2**40,
        to_bytes(hexstr=DATASET_ID),
    )
    claim_payload = claim_typed_data(
        dao_id=DAO_ID,
        contributor=w3.eth.accounts[2],
        amount=5 * 10**18,
        nonce=9,
        deadline=2**40,
        dataset_id=DATASET_ID,
        chain_id=chain_id,
        verifying_contract=distributor.address,
    )
    on_chain = distributor.functions.claimDigest(voucher).call()
    assert on_chain == _digest(claim_payload) == typed_data_digest(claim_payload)

    domain = distributor.functions.eip712Domain().call()
    assert domain[1:5] == [DOMAIN_NAME, DOMAIN_VERSION, chain_id, distributor.address]
    assert distributor.functions.daoId().call() == DAO_ID_BYTES


# --- Epoch claims ---------------------------------------------------------------------------


def test_every_account_claims_its_amount(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    token, distributor = distributor_deployment
    assert distributor.functions.epochRoot(EPOCH).call() == to_bytes(hexstr=epoch.tree.root)
    funded = token.functions.balanceOf(distributor.address).call()

    for account, amount in epoch.allocations:
        proof = epoch.proof(account)
        assert verify(epoch.tree.root, account, amount, proof)
        receipt = evm.transact(
            w3, distributor.functions.claim(EPOCH, amount, proof), sender=account
        )
        (event,) = distributor.events.Claimed().process_receipt(receipt, errors=DISCARD)
        assert event["args"] == {"epoch": EPOCH, "account": account, "amount": amount}
        assert token.functions.balanceOf(account).call() == amount
        assert distributor.functions.claimed(EPOCH, account).call()

    assert distributor.functions.epochClaimed(EPOCH).call() == epoch.total
    assert token.functions.balanceOf(distributor.address).call() == funded - epoch.total


def test_second_claim_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    token, distributor = distributor_deployment
    account, amount = epoch.allocations[0]
    evm.transact(w3, distributor.functions.claim(EPOCH, amount, epoch.proof(account)), account)

    with evm.expect_revert(distributor, "AlreadyClaimed", EPOCH, account):
        evm.transact(w3, distributor.functions.claim(EPOCH, amount, epoch.proof(account)), account)
    assert token.functions.balanceOf(account).call() == amount


def test_wrong_amount_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    _, distributor = distributor_deployment
    account, amount = epoch.allocations[1]
    with evm.expect_revert(distributor, "InvalidProof"):
        evm.transact(
            w3, distributor.functions.claim(EPOCH, amount + 1, epoch.proof(account)), account
        )


def test_wrong_proof_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    _, distributor = distributor_deployment
    account, amount = epoch.allocations[2]
    proof = epoch.proof(account)
    tampered = [proof[0][:-2] + ("00" if proof[0][-2:] != "00" else "01"), *proof[1:]]
    for bad in (tampered, proof[:-1], epoch.proof(epoch.allocations[3][0]), []):
        with evm.expect_revert(distributor, "InvalidProof"):
            evm.transact(w3, distributor.functions.claim(EPOCH, amount, bad), account)


def test_proof_for_another_account_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    token, distributor = distributor_deployment
    victim, amount = epoch.allocations[0]
    thief = epoch.allocations[1][0]
    with evm.expect_revert(distributor, "InvalidProof"):
        evm.transact(w3, distributor.functions.claim(EPOCH, amount, epoch.proof(victim)), thief)
    # An outsider with no leaf at all fares no better.
    outsider = w3.eth.accounts[8]
    with evm.expect_revert(distributor, "InvalidProof"):
        evm.transact(w3, distributor.functions.claim(EPOCH, amount, epoch.proof(victim)), outsider)
    assert token.functions.balanceOf(outsider).call() == 0


def test_claim_on_unknown_epoch_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], epoch: Epoch
) -> None:
    _, distributor = distributor_deployment
    account, amount = epoch.allocations[0]
    with evm.expect_revert(distributor, "UnknownEpoch", EPOCH + 1):
        evm.transact(
            w3, distributor.functions.claim(EPOCH + 1, amount, epoch.proof(account)), account
        )


def test_root_signed_by_the_wrong_key_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], other_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    tree_epoch = _epoch_for(w3)
    signature = _sign_root(other_signer, distributor, EPOCH, tree_epoch.tree.root, tree_epoch.total)
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(
            w3,
            distributor.functions.setEpochRoot(
                DAO_ID_BYTES, EPOCH, tree_epoch.tree.root, tree_epoch.total, signature
            ),
        )
    assert distributor.functions.epochRoot(EPOCH).call() == b"\x00" * 32


def test_root_signed_for_another_total_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    tree_epoch = _epoch_for(w3)
    signature = _sign_root(
        rewards_signer, distributor, EPOCH, tree_epoch.tree.root, tree_epoch.total
    )
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(
            w3,
            distributor.functions.setEpochRoot(
                DAO_ID_BYTES, EPOCH, tree_epoch.tree.root, tree_epoch.total * 2, signature
            ),
        )


def test_root_can_be_set_only_once(
    w3: Web3,
    distributor_deployment: tuple[Contract, Contract],
    rewards_signer: LocalAccount,
    epoch: Epoch,
) -> None:
    _, distributor = distributor_deployment
    # Even a correctly signed replacement is refused: a published root is final.
    other_root = "0x" + "cd" * 32
    signature = _sign_root(rewards_signer, distributor, EPOCH, other_root, 1)
    with evm.expect_revert(distributor, "RootAlreadySet", EPOCH):
        evm.transact(
            w3, distributor.functions.setEpochRoot(DAO_ID_BYTES, EPOCH, other_root, 1, signature)
        )
    assert distributor.functions.epochRoot(EPOCH).call() == to_bytes(hexstr=epoch.tree.root)


def test_claims_cannot_exceed_the_signed_total(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    tree_epoch = _epoch_for(w3)
    short = Epoch(tree=tree_epoch.tree, allocations=tree_epoch.allocations, total=10**18)
    _set_root(distributor, rewards_signer, EPOCH, short)
    account, amount = short.allocations[0]
    evm.transact(w3, distributor.functions.claim(EPOCH, amount, short.proof(account)), account)
    account, amount = short.allocations[1]
    with evm.expect_revert(distributor, "EpochTotalExceeded", EPOCH):
        evm.transact(w3, distributor.functions.claim(EPOCH, amount, short.proof(account)), account)


# --- Vouchers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voucher:
    contributor: str
    amount: int
    nonce: int
    deadline: int
    dataset_id: str = DATASET_ID
    dao_id: str = DAO_ID

    def as_tuple(self) -> tuple[bytes, str, int, int, int, bytes]:
        return (
            to_bytes(hexstr=self.dao_id),
            self.contributor,
            self.amount,
            self.nonce,
            self.deadline,
            to_bytes(hexstr=self.dataset_id),
        )

    def payload(self, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
        return claim_typed_data(
            dao_id=self.dao_id,
            contributor=self.contributor,
            amount=self.amount,
            nonce=self.nonce,
            deadline=self.deadline,
            dataset_id=self.dataset_id,
            chain_id=chain_id,
            verifying_contract=verifying_contract,
        )

    def sign(self, signer: LocalAccount, *, chain_id: int, verifying_contract: str) -> str:
        payload = self.payload(chain_id=chain_id, verifying_contract=verifying_contract)
        signature = sign_typed_data(payload, signer)
        assert recover_typed_data(payload, signature) == signer.address
        return signature


def _voucher(w3: Web3, *, nonce: int = 1) -> Voucher:
    return Voucher(
        contributor=w3.eth.accounts[3],
        amount=42 * 10**18,
        nonce=nonce,
        deadline=evm.latest_timestamp(w3) + ONE_DAY,
    )


def _voucher_payload(voucher: Voucher, distributor: Contract) -> dict[str, Any]:
    return voucher.payload(
        chain_id=distributor.w3.eth.chain_id, verifying_contract=distributor.address
    )


def _signed(voucher: Voucher, signer: LocalAccount, distributor: Contract) -> str:
    return voucher.sign(
        signer, chain_id=distributor.w3.eth.chain_id, verifying_contract=distributor.address
    )


def test_voucher_is_redeemed_once(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    token, distributor = distributor_deployment
    voucher = _voucher(w3)
    signature = _signed(voucher, rewards_signer, distributor)
    # Relayed by someone else: the contributor still gets the tokens and pays no gas.
    relayer = w3.eth.accounts[7]
    receipt = evm.transact(
        w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature), relayer
    )

    (event,) = distributor.events.VoucherRedeemed().process_receipt(receipt, errors=DISCARD)
    assert event["args"] == {
        "contributor": voucher.contributor,
        "nonce": voucher.nonce,
        "datasetId": to_bytes(hexstr=voucher.dataset_id),
        "amount": voucher.amount,
    }
    assert token.functions.balanceOf(voucher.contributor).call() == voucher.amount
    assert token.functions.balanceOf(relayer).call() == 0
    assert distributor.functions.nonceUsed(voucher.contributor, voucher.nonce).call()

    with evm.expect_revert(distributor, "NonceUsed", voucher.contributor, voucher.nonce):
        evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature))
    assert token.functions.balanceOf(voucher.contributor).call() == voucher.amount


def test_new_voucher_with_a_used_nonce_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    first = _voucher(w3, nonce=5)
    evm.transact(
        w3,
        distributor.functions.claimVoucher(
            first.as_tuple(), _signed(first, rewards_signer, distributor)
        ),
    )
    # A genuinely signed, different voucher still cannot reuse the nonce.
    second = Voucher(first.contributor, first.amount + 1, first.nonce, first.deadline)
    with evm.expect_revert(distributor, "NonceUsed", first.contributor, first.nonce):
        evm.transact(
            w3,
            distributor.functions.claimVoucher(
                second.as_tuple(), _signed(second, rewards_signer, distributor)
            ),
        )


def test_expired_voucher_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    token, distributor = distributor_deployment
    voucher = _voucher(w3)
    signature = _signed(voucher, rewards_signer, distributor)
    evm.advance_time(w3, voucher.deadline + 1)

    with evm.expect_revert(distributor, "Expired", voucher.deadline):
        evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature))
    assert token.functions.balanceOf(voucher.contributor).call() == 0


def test_voucher_for_another_chain_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    voucher = _voucher(w3)
    signature = voucher.sign(
        rewards_signer, chain_id=w3.eth.chain_id + 1, verifying_contract=distributor.address
    )
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature))


def test_voucher_for_another_distributor_is_refused(
    w3: Web3,
    distributor_deployment: tuple[Contract, Contract],
    rewards_signer: LocalAccount,
    evm_artifacts: evm.Artifacts,
) -> None:
    token, distributor = distributor_deployment
    # Same token, same signer: only verifyingContract tells the two distributors apart.
    _, other = evm.deploy_distributor(
        w3, rewards_signer.address, DAO_ID, artifacts=evm_artifacts, token=token
    )
    evm.fund(token, other.address, 10**24)
    voucher = _voucher(w3)
    signature = _signed(voucher, rewards_signer, other)

    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature))
    evm.transact(w3, other.functions.claimVoucher(voucher.as_tuple(), signature))
    assert token.functions.balanceOf(voucher.contributor).call() == voucher.amount


def test_tampered_voucher_amount_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    voucher = _voucher(w3)
    signature = _signed(voucher, rewards_signer, distributor)
    tampered = Voucher(voucher.contributor, voucher.amount * 10, voucher.nonce, voucher.deadline)
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(w3, distributor.functions.claimVoucher(tampered.as_tuple(), signature))


def test_voucher_signed_by_another_key_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], other_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    voucher = _voucher(w3)
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(
            w3,
            distributor.functions.claimVoucher(
                voucher.as_tuple(), _signed(voucher, other_signer, distributor)
            ),
        )


def test_high_s_twin_of_a_valid_signature_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    voucher = _voucher(w3)
    signature = to_bytes(hexstr=_signed(voucher, rewards_signer, distributor))
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    assert v in (27, 28)
    twin_s = SECPK1_N - s
    twin = r + twin_s.to_bytes(32, "big") + bytes([55 - v])

    # The twin is a real signature by the same key under plain ecrecover: the contract refuses it
    # for being high-s, not for being garbage.
    digest = distributor.functions.claimDigest(voucher.as_tuple()).call()
    raw = keys.Signature(vrs=(28 - v, int.from_bytes(r, "big"), twin_s))
    assert raw.recover_public_key_from_msg_hash(digest).to_checksum_address() == (
        rewards_signer.address
    )

    # Off-chain recovery agrees with the contract, so the service never hands out such a voucher.
    with pytest.raises(ValueError, match="upper half"):
        recover_typed_data(_voucher_payload(voucher, distributor), "0x" + twin.hex())

    with evm.expect_revert(distributor, "ECDSAInvalidSignatureS", twin_s.to_bytes(32, "big")):
        evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), twin))
    # The canonical signature is still good afterwards: the refusal did not burn the nonce.
    evm.transact(w3, distributor.functions.claimVoucher(voucher.as_tuple(), signature))


# --- One distributor, one DAO ----------------------------------------------------------------


def test_root_signed_for_another_dao_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    _, distributor = distributor_deployment
    tree_epoch = _epoch_for(w3)
    # The right signer, this contract, this chain: only the DAO differs.
    signature = _sign_root(
        rewards_signer,
        distributor,
        EPOCH,
        tree_epoch.tree.root,
        tree_epoch.total,
        dao_id=OTHER_DAO_ID,
    )
    other = to_bytes(hexstr=OTHER_DAO_ID)
    with evm.expect_revert(distributor, "WrongDao", other):
        evm.transact(
            w3,
            distributor.functions.setEpochRoot(
                other, EPOCH, tree_epoch.tree.root, tree_epoch.total, signature
            ),
        )
    # Relayed under this contract's daoId instead, the signature no longer matches.
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(
            w3,
            distributor.functions.setEpochRoot(
                DAO_ID_BYTES, EPOCH, tree_epoch.tree.root, tree_epoch.total, signature
            ),
        )
    assert distributor.functions.epochRoot(EPOCH).call() == b"\x00" * 32


def test_voucher_signed_for_another_dao_is_refused(
    w3: Web3, distributor_deployment: tuple[Contract, Contract], rewards_signer: LocalAccount
) -> None:
    token, distributor = distributor_deployment
    base = _voucher(w3)
    foreign = Voucher(base.contributor, base.amount, base.nonce, base.deadline, dao_id=OTHER_DAO_ID)
    signature = _signed(foreign, rewards_signer, distributor)
    with evm.expect_revert(distributor, "WrongDao", to_bytes(hexstr=OTHER_DAO_ID)):
        evm.transact(w3, distributor.functions.claimVoucher(foreign.as_tuple(), signature))
    with evm.expect_revert(distributor, "InvalidSignature"):
        evm.transact(w3, distributor.functions.claimVoucher(base.as_tuple(), signature))
    assert token.functions.balanceOf(base.contributor).call() == 0
    assert not distributor.functions.nonceUsed(base.contributor, base.nonce).call()


def test_a_distributor_needs_a_dao_id(
    w3: Web3, evm_artifacts: evm.Artifacts, rewards_signer: LocalAccount
) -> None:
    token = evm.deploy(w3, evm_artifacts["TestToken"])
    factory = w3.eth.contract(
        abi=evm_artifacts["DatadaoDistributor"].abi,
        bytecode=evm_artifacts["DatadaoDistributor"].bytecode,
    )
    with evm.expect_revert(factory, "ZeroDaoId"):
        evm.transact(w3, factory.constructor(token.address, rewards_signer.address, bytes(32)))
