"""Relaying closed epochs' signed roots to their DAO's distributor (``setEpochRoot``).

The relayer key only pays gas: the contract accepts a root only with the rewards signer's
signature over it, so a compromised relayer can delay payouts but not change them.

Never twice: the chain is asked first (a root already set is recognised and recorded), every
signed transaction is stored before it is broadcast (a retry re-broadcasts the same bytes, one
hash), and a stuck one is replaced under the same nonce (only one of them can be mined).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError

from datadao.chain import _web3, chain_readable
from datadao.keys import load_signer
from rewards.deploy import DeployError, dao_distributor_verify
from rewards.epoch_inputs import EMPTY_ROOT
from rewards.models import (
    ChainNonce,
    ChainTx,
    ChainTxKind,
    ChainTxStatus,
    Epoch,
    EpochStatus,
)
from rewards.onchain import artifact, sender

logger = logging.getLogger(__name__)


class RelayRefused(Exception):
    """This epoch cannot be relayed as it stands; the message says why (not retried)."""


@dataclass(frozen=True)
class RelayOutcome:
    state: str  # "set" (the root is on chain), "pending" (a transaction awaits mining)
    tx_hash: str = ""


def _distributor(w3: Web3, address: str):  # type: ignore[no-untyped-def]
    return w3.eth.contract(Web3.to_checksum_address(address), abi=artifact.contract()["abi"])


def _check_relayable(epoch: Epoch) -> None:
    dao = epoch.dao
    if epoch.status != EpochStatus.CLOSED or not epoch.root_signature:
        raise RelayRefused(f"epoch {epoch.number} of {dao.slug} is not closed and signed")
    if epoch.root == EMPTY_ROOT:
        raise RelayRefused(
            f"epoch {epoch.number} of {dao.slug} pays nobody (every allocation netted by "
            "clawbacks): there is no root to set on chain"
        )
    if not dao.reward_contract_address:
        raise RelayRefused(f"{dao.slug} has no reward contract to relay to")
    if not chain_readable(dao.chain_id):
        raise RelayRefused(f"chain {dao.chain_id} is not in CHAIN_RPC_URLS")
    domain = (epoch.root_typed_data or {}).get("domain", {})
    signed_for = str(domain.get("verifyingContract", "")).lower()
    if signed_for != dao.reward_contract_address.lower() or int(domain.get("chainId", 0)) != int(
        dao.chain_id
    ):
        raise RelayRefused(
            f"epoch {epoch.number} of {dao.slug} was signed for contract {signed_for or 'none'} "
            f"on chain {domain.get('chainId')}, not the DAO's {dao.reward_contract_address} on "
            f"chain {dao.chain_id}; its root cannot be relayed there"
        )


def _on_chain_root(w3: Web3, epoch: Epoch) -> str:
    root = _distributor(w3, epoch.dao.reward_contract_address).functions.epochRoot(epoch.number)
    return "0x" + bytes(root.call()).hex()


def _call_data(w3: Web3, epoch: Epoch) -> str:
    message = epoch.root_typed_data["message"]
    fn = _distributor(w3, epoch.dao.reward_contract_address).functions.setEpochRoot(
        bytes.fromhex(message["daoId"].removeprefix("0x")),
        int(message["epoch"]),
        bytes.fromhex(message["root"].removeprefix("0x")),
        int(message["total"]),
        bytes.fromhex(epoch.root_signature.removeprefix("0x")),
    )
    return fn._encode_transaction_data()


def _next_nonce(w3: Web3, chain_id: int, address: str) -> int:
    """Under the row lock (the caller's transaction): the larger of ours and the chain's."""
    row, _ = ChainNonce.objects.select_for_update().get_or_create(
        chain_id=chain_id, address=address
    )
    nonce = max(row.next_nonce, int(w3.eth.get_transaction_count(address, "pending")))
    row.next_nonce = nonce + 1
    row.save(update_fields=["next_nonce"])
    return nonce


def _record(epoch: Epoch, signed: sender.SignedTx, relayer: str) -> ChainTx:
    return ChainTx.objects.create(
        dao=epoch.dao,
        kind=ChainTxKind.SET_ROOT,
        epoch=epoch,
        chain_id=epoch.dao.chain_id,
        sender=relayer,
        nonce=signed.nonce,
        tx_hash=signed.tx_hash,
        raw=signed.raw,
        max_fee=signed.fees.max_fee,
        priority_fee=signed.fees.priority_fee,
        gas=signed.gas,
    )


def _mark_mined(tx: ChainTx, found: dict) -> None:  # type: ignore[type-arg]
    ok = int(found.get("status", 0)) == 1
    tx.status = ChainTxStatus.MINED if ok else ChainTxStatus.FAILED
    tx.block_number = int(found["blockNumber"])
    tx.mined_at = timezone.now()
    tx.problem = "" if ok else "reverted"
    tx.save(update_fields=["status", "block_number", "mined_at", "problem"])


def epoch_relay(*, epoch_id: int) -> RelayOutcome:
    """One step of relaying an epoch's root; call again while it answers "pending".

    Raises ``RelayRefused`` (permanent), ``ImproperlyConfigured`` (no relayer key) and the
    transport's errors (retry later)."""
    epoch = Epoch.objects.select_related("dao").get(pk=epoch_id)
    _check_relayable(epoch)
    w3 = _web3(epoch.dao.chain_id)
    try:
        # A contract that is not ours could accept every setEpochRoot and never hold a root:
        # the relay would pay gas for a new transaction on every poll, forever.
        dao_distributor_verify(w3, epoch.dao)
    except DeployError as exc:
        raise RelayRefused(f"epoch {epoch.number} of {epoch.dao.slug} not relayed: {exc}") from None
    expected = epoch.root.lower()
    on_chain = _on_chain_root(w3, epoch)
    live = ChainTx.objects.filter(
        epoch=epoch, kind=ChainTxKind.SET_ROOT, status__in=[ChainTxStatus.SENT, ChainTxStatus.MINED]
    ).first()
    if int(on_chain, 16):
        if on_chain != expected:
            raise RelayRefused(
                f"epoch {epoch.number} of {epoch.dao.slug} already has root {on_chain} on chain, "
                f"not the signed {expected}"
            )
        if live is not None and live.status == ChainTxStatus.SENT:
            found = sender.receipt(w3, live.tx_hash)
            if found is not None:
                _mark_mined(live, found)
        return RelayOutcome("set", live.tx_hash if live else "")

    if live is not None and live.status == ChainTxStatus.SENT:
        return _follow(w3, epoch, live)
    if live is not None:  # mined, yet no root: the block was reorganised away; send again
        live.status = ChainTxStatus.FAILED
        live.problem = "mined in a block the chain no longer has"
        live.save(update_fields=["status", "problem"])
    return _send_new(w3, epoch)


def _relayer() -> LocalAccount:
    return load_signer("relayer")


def _send_new(w3: Web3, epoch: Epoch) -> RelayOutcome:
    relayer = _relayer()
    data = _call_data(w3, epoch)
    call = {"to": epoch.dao.reward_contract_address, "data": data}
    try:
        gas = sender.estimate_gas(w3, relayer.address, call)
    except ContractLogicError as exc:
        raise RelayRefused(
            f"setEpochRoot for epoch {epoch.number} of {epoch.dao.slug} would revert: {exc}"
        ) from None
    fees = sender.current_fees(w3)
    with transaction.atomic():
        # The row lock on the epoch serialises two relays of it; the live-transaction
        # constraint backs that up.
        Epoch.objects.select_for_update().get(pk=epoch.pk)
        if ChainTx.objects.filter(
            epoch=epoch, kind=ChainTxKind.SET_ROOT, status=ChainTxStatus.SENT
        ).exists():
            return RelayOutcome("pending")
        nonce = _next_nonce(w3, epoch.dao.chain_id, relayer.address)
        signed = sender.sign(w3, relayer, call, nonce=nonce, fees=fees, gas=gas)
        tx = _record(epoch, signed, relayer.address)
    sender.broadcast(w3, tx.raw)
    logger.info("relayed epoch %s of %s: %s", epoch.number, epoch.dao.slug, tx.tx_hash)
    return RelayOutcome("pending", tx.tx_hash)


def _follow(w3: Web3, epoch: Epoch, live: ChainTx) -> RelayOutcome:
    """A transaction is out: mined, still waiting (re-broadcast, or replaced when stuck too
    long), or its nonce was used by something else (dropped: start again)."""
    # Any earlier attempt under the same nonce may be the one that mined.
    for attempt in ChainTx.objects.filter(epoch=epoch, nonce=live.nonce).order_by("-sent_at"):
        found = sender.receipt(w3, attempt.tx_hash)
        if found is None:
            continue
        with transaction.atomic():
            if attempt.pk != live.pk:
                ChainTx.objects.filter(pk=live.pk).update(status=ChainTxStatus.REPLACED)
            _mark_mined(attempt, found)
        if attempt.status == ChainTxStatus.FAILED:
            return epoch_relay(epoch_id=epoch.pk)  # reverted: ask the chain again
        return RelayOutcome("set" if _on_chain_root(w3, epoch) != "0x" + "0" * 64 else "pending")
    if int(w3.eth.get_transaction_count(live.sender, "latest")) > live.nonce:
        # The nonce is spent and none of ours mined: something else used it.
        ChainTx.objects.filter(pk=live.pk).update(
            status=ChainTxStatus.FAILED, problem="nonce used by another transaction"
        )
        return _send_new(w3, epoch)
    stuck_after = timedelta(seconds=settings.CHAIN_TX_REPLACE_AFTER_SECONDS)
    if timezone.now() - live.sent_at < stuck_after:
        sender.broadcast(w3, live.raw)  # a node that lost it gets it again; same hash
        return RelayOutcome("pending", live.tx_hash)
    return _replace(w3, epoch, live)


def _replace(w3: Web3, epoch: Epoch, live: ChainTx) -> RelayOutcome:
    relayer = _relayer()
    old = sender.Fees(int(live.max_fee), int(live.priority_fee))
    fees = sender.current_fees(w3).at_least(old.bumped())
    call = {"to": epoch.dao.reward_contract_address, "data": _call_data(w3, epoch)}
    signed = sender.sign(w3, relayer, call, nonce=live.nonce, fees=fees, gas=live.gas)
    with transaction.atomic():
        updated = ChainTx.objects.filter(pk=live.pk, status=ChainTxStatus.SENT).update(
            status=ChainTxStatus.REPLACED
        )
        if not updated:
            return RelayOutcome("pending")  # another relay got here first
        tx = _record(epoch, signed, relayer.address)
    sender.broadcast(w3, tx.raw)
    logger.warning(
        "replaced stuck relay %s of epoch %s (%s) with %s at max fee %s",
        live.tx_hash,
        epoch.number,
        epoch.dao.slug,
        tx.tx_hash,
        fees.max_fee,
    )
    return RelayOutcome("pending", tx.tx_hash)


def epochs_to_relay(*, closed_before: datetime | None = None, limit: int = 1000) -> list[int]:
    """Closed epochs, signed for their DAO's current contract on a readable chain, whose root
    the chain reader has not seen on chain: the relay's to-do list (and the sweeper's)."""
    from rewards.models import ChainEvent

    candidates = Epoch.objects.filter(
        status=EpochStatus.CLOSED, dao__chain_id__in=list(settings.CHAIN_RPC_URLS)
    ).exclude(dao__reward_contract_address="")
    if closed_before is not None:
        candidates = candidates.filter(closed_at__lte=closed_before)
    done = set(ChainEvent.objects.filter(name="EpochRootSet").values_list("dao_id", "epoch"))
    out = []
    for epoch in candidates.select_related("dao").order_by("closed_at")[: limit * 2]:
        if (epoch.dao_id, epoch.number) in done:
            continue
        try:
            _check_relayable(epoch)
        except RelayRefused:
            continue  # signed for another contract: relaying it can never work
        out.append(epoch.pk)
        if len(out) >= limit:
            break
    return out
