"""The chain reader: follows every DAO's distributor for ``EpochRootSet``, ``Claimed`` and
``VoucherRedeemed``.

Per contract, from a stored cursor: blocks buried under the chain's confirmations are read in
ranges of ``CHAIN_LOG_BLOCK_RANGE`` and stored as final, each range in one transaction with the
cursor's move, so a reader restarted anywhere reads no event twice and misses none (the events'
unique key backs that up). Newer blocks are read on every pass and replace what the last pass
saw of them: an event in a block that a reorganisation dropped disappears, and one mined again
appears in its new block. A reorganisation deeper than the confirmations shows as the cursor
block's hash changing; the reader then rolls back and reads those blocks again.

Only a contract that is this build of the distributor, for the DAO's id and trusting a
platform rewards signer, is read (``rewards.deploy.dao_distributor_verify``): any other
contract a DAO is pointed at could emit ``Claimed`` events for payments never made.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from web3 import Web3

from datadao.chain import _web3, chain_readable
from datadao.models import DAO, AuditEvent
from datadao.services import audit_record
from rewards.deploy import DeployError, dao_distributor_verify
from rewards.models import ChainCursor, ChainEvent
from rewards.onchain import artifact, events

logger = logging.getLogger(__name__)

# How far back a rollback re-reads, in multiples of the chain's confirmations (at least 8
# blocks): a reorganisation deeper than the confirmations is rare, one deeper than this rarer.
ROLLBACK_FACTOR = 4
MIN_ROLLBACK = 8
# At most this many ranges of CHAIN_LOG_BLOCK_RANGE blocks per DAO per pass: a contract deployed
# long before it was set, or a reader that was down for days, catches up over several passes
# instead of holding every other DAO's pass (``watch_all`` reads them one after another).
MAX_RANGES_PER_PASS = 50


def confirmations(chain_id: int) -> int:
    return int(settings.CHAIN_CONFIRMATIONS.get(chain_id, settings.CHAIN_CONFIRMATIONS_DEFAULT))


@dataclass
class WatchResult:
    dao: str
    head: int = 0
    final_to: int = -1
    final_events: int = 0
    pending_events: int = 0
    rolled_back_to: int | None = None
    refused: str = ""  # why the DAO's contract is not read


def _deploy_block(w3: Web3, address: str, head: int) -> int:
    """The first block at which ``address`` has code (binary search: ~log2(head) reads)."""
    low, high = 0, head
    while low < high:
        middle = (low + high) // 2
        if w3.eth.get_code(address, block_identifier=middle):
            high = middle
        else:
            low = middle + 1
    return low


def _row(dao: DAO, event: events.Event, *, confirmed: bool) -> ChainEvent:
    args = event.args
    account = args.get("account") or args.get("contributor") or ""
    epoch = args.get("epoch")
    amount = args.get("amount")
    if event.name == "EpochRootSet":
        amount = args.get("total")
    now = timezone.now()
    return ChainEvent(
        dao=dao,
        chain_id=dao.chain_id,
        address=dao.reward_contract_address.lower(),
        name=event.name,
        block_number=event.block_number,
        block_hash=event.block_hash,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        epoch=int(epoch) if epoch is not None else None,
        account=Web3.to_checksum_address(account) if account else "",
        amount=Decimal(int(amount)) if amount is not None else None,
        args=args,
        confirmed=confirmed,
        seen_at=now,
        confirmed_at=now if confirmed else None,
    )


def _cursor(w3: Web3, dao: DAO, head: int) -> ChainCursor:
    address = dao.reward_contract_address.lower()
    cursor = ChainCursor.objects.filter(chain_id=dao.chain_id, address=address).first()
    if cursor is None:
        start = _deploy_block(w3, Web3.to_checksum_address(address), head)
        cursor, _ = ChainCursor.objects.get_or_create(
            chain_id=dao.chain_id,
            address=address,
            defaults={"dao": dao, "block": start - 1, "block_hash": ""},
        )
    return cursor


def _rollback_if_reorganised(w3: Web3, dao: DAO, cursor: ChainCursor, depth: int) -> int | None:
    if cursor.block < 0 or not cursor.block_hash:
        return None
    if events.block_hash(w3, cursor.block) == cursor.block_hash:
        return None
    back_to = max(-1, cursor.block - max(MIN_ROLLBACK, ROLLBACK_FACTOR * max(depth, 1)))
    with transaction.atomic():
        dropped = ChainEvent.objects.filter(
            chain_id=dao.chain_id, address=cursor.address, block_number__gt=back_to
        ).delete()[0]
        cursor.block = back_to
        cursor.block_hash = (events.block_hash(w3, back_to) or "") if back_to >= 0 else ""
        cursor.save(update_fields=["block", "block_hash"])
        audit_record(
            actor=None,
            dao=dao,
            verb="chain.reorganised",
            details={"rolled_back_to": back_to, "events_dropped": dropped},
        )
    logger.warning(
        "chain %s reorganised below block %s of %s's distributor: re-reading from %s",
        dao.chain_id,
        cursor.block,
        dao.slug,
        back_to + 1,
    )
    return back_to


def watch_dao(*, dao_id: int) -> WatchResult:
    """One pass of the reader over one DAO's distributor."""
    dao = DAO.objects.get(pk=dao_id)
    result = WatchResult(dao=dao.slug)
    if not dao.reward_contract_address or not chain_readable(dao.chain_id):
        return result
    w3 = _web3(dao.chain_id)
    try:
        dao_distributor_verify(w3, dao)
    except DeployError as exc:
        result.refused = str(exc)
        _refused(dao, result.refused)
        return result
    depth = confirmations(dao.chain_id)
    head = int(w3.eth.block_number)
    result.head = head
    cursor = _cursor(w3, dao, head)
    result.rolled_back_to = _rollback_if_reorganised(w3, dao, cursor, depth)
    final = head - depth
    address = Web3.to_checksum_address(cursor.address)
    ranges = events.block_ranges(cursor.block + 1, final, settings.CHAIN_LOG_BLOCK_RANGE)
    for start, stop in itertools.islice(ranges, MAX_RANGES_PER_PASS):
        before = events.block_hash(w3, stop)
        found = events.read(w3, address, start, stop)
        if events.block_hash(w3, stop) != before:
            break  # reorganised while reading: the next pass reads this range again
        with transaction.atomic():
            locked = ChainCursor.objects.select_for_update().get(pk=cursor.pk)
            if locked.block != cursor.block:
                break  # another reader moved it: let it go on
            ChainEvent.objects.filter(
                chain_id=dao.chain_id,
                address=cursor.address,
                confirmed=False,
                block_number__lte=stop,
            ).delete()
            ChainEvent.objects.bulk_create(
                [_row(dao, e, confirmed=True) for e in found], ignore_conflicts=True
            )
            locked.block, locked.block_hash = stop, before or ""
            locked.save(update_fields=["block", "block_hash"])
            cursor = locked
        result.final_events += len(found)
    result.final_to = cursor.block
    if cursor.block < final:
        # Still catching up: the blocks past the cursor are a long way, not a few unconfirmed
        # ones (one read of them all is what providers refuse). The next pass goes on; the
        # head is recorded so the lag shows.
        ChainCursor.objects.filter(pk=cursor.pk).update(head=head, updated_at=timezone.now())
        return result
    pending = events.read(w3, address, cursor.block + 1, head) if cursor.block + 1 <= head else []
    with transaction.atomic():
        ChainEvent.objects.filter(
            chain_id=dao.chain_id, address=cursor.address, confirmed=False
        ).delete()
        ChainEvent.objects.bulk_create(
            [_row(dao, e, confirmed=False) for e in pending], ignore_conflicts=True
        )
    result.pending_events = len(pending)
    _read_balance(w3, dao, cursor, head)
    return result


def _refused(dao: DAO, why: str) -> None:
    """Logged on every pass, audited once per contract: the DAO's managers must fix it."""
    logger.error("chain reader does not read %s's contract: %s", dao.slug, why)
    address = dao.reward_contract_address.lower()
    with transaction.atomic():
        seen = AuditEvent.objects.filter(
            dao=dao, verb="chain.contract_refused", details__address=address
        ).exists()
        if not seen:
            audit_record(
                actor=None,
                dao=dao,
                verb="chain.contract_refused",
                obj=dao,
                details={"address": address, "chain_id": dao.chain_id, "why": why},
            )


def _read_balance(w3: Web3, dao: DAO, cursor: ChainCursor, head: int) -> None:
    distributor = w3.eth.contract(
        Web3.to_checksum_address(cursor.address), abi=artifact.contract()["abi"]
    )
    token = w3.eth.contract(
        distributor.functions.token().call(), abi=artifact.contract("TestToken")["abi"]
    )
    balance = int(token.functions.balanceOf(distributor.address).call(block_identifier=head))
    ChainCursor.objects.filter(pk=cursor.pk).update(
        token_balance=Decimal(balance), balance_block=head, head=head, updated_at=timezone.now()
    )


def watch_all() -> list[WatchResult]:
    """Every DAO with a contract on a chain the platform reads; one failing chain does not stop
    the others (it is logged and read again next pass)."""
    results = []
    daos = DAO.objects.exclude(reward_contract_address="").filter(
        chain_id__in=list(settings.CHAIN_RPC_URLS)
    )
    for dao_id in daos.values_list("pk", flat=True):
        try:
            results.append(watch_dao(dao_id=dao_id))
        except Exception:
            logger.exception("chain reader failed on DAO %s; next pass tries again", dao_id)
    return results
