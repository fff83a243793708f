"""Writes of the rewards ledger: credit entries, close epochs, issue vouchers.

Every credit has a unique (source, reason) key, so a retried task credits once. Closing an
epoch is one transaction under a row lock: concurrent closers produce one closed epoch, and
closing a closed epoch returns it unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from datadao import events
from datadao.chain import chain_readable
from datadao.dispatch import send_on_commit
from datadao.errors import ApplicationError, Detail
from datadao.keys import load_signer
from datadao.models import DAO, User
from datadao.services import audit_record
from rewards import epoch_inputs, holds, tree_store
from rewards.allocations import CHALLENGE_BOND, CHALLENGE_REWARD, CHALLENGE_SHARE, allocate
from rewards.amounts import reward_amount
from rewards.clawbacks import clawback_dues, clawback_record_netting
from rewards.models import (
    ROYALTY,
    ROYALTY_REASONS,
    Epoch,
    EpochStatus,
    RewardEntry,
    RewardPolicy,
    Voucher,
)
from rewards.royalty_sources import royalty_credits_earned_by

BPS = 10_000
UINT256_MAX = 2**256 - 1
# EpochRoot is signed for this contract when the DAO has none configured yet (simulation).
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class RewardsError(ApplicationError):
    """A refused rewards operation; the message names the problem."""


def _int(value: Decimal | int) -> int:
    return int(value)


def _credit_once(
    *, dataset: Any, account_id: int, amount: int, reason: str, source_type: str, source_id: str
) -> RewardEntry:
    """Write one credit, or return the one already written for this (source, reason): the
    unique key turns a repeat (a retried task) into a lookup."""
    # The open epoch the credit will settle in exists from the first credit, so the console
    # always shows something to simulate and close.
    epoch_current(dao=dataset.dao)
    key = {"source_type": source_type, "source_id": source_id, "reason": reason}
    try:
        with transaction.atomic():
            return RewardEntry.objects.create(
                dao_id=dataset.dao_id,
                dataset_id=dataset.pk,
                account_id=account_id,
                amount=amount,
                **key,
            )
    except IntegrityError:
        return RewardEntry.objects.get(**key)


def reward_credit_contribution(*, contribution: Any) -> RewardEntry | None:
    """Credit an accepted contribution once, with what it earns (``_contribution_credit``).
    ``contribution`` is a ``contributions.models.Contribution``, read by attribute: rewards sits
    below the apps that pay, and imports none of them."""
    entry = _contribution_credit(
        RewardPolicy.objects.filter(dataset_id=contribution.dataset_id).first(), contribution
    )
    if entry is None:
        return None
    return _credit_once(
        dataset=contribution.dataset,
        account_id=entry.account_id,
        amount=entry.amount,
        reason=entry.reason,
        source_type=entry.source_type,
        source_id=entry.source_id,
    )


def _contribution_credit(policy: RewardPolicy | None, contribution: Any) -> RewardEntry | None:
    """The credit an accepted contribution earns under ``policy`` (unsaved), or None when it
    earns nothing: per_contribution × score / 10000, and for a tabular file only for its
    new rows (× new / rows), plus per_row × score / 10000 for each new row
    (``rewards.amounts.reward_amount``), floored once. The one rule of every
    lane (stage, express, batch)."""
    if policy is None or not (policy.per_contribution or policy.per_row):
        return None
    if not contribution.score:
        return None
    # The contribution's novelty report (``contributions.novelty``): its valid and new rows.
    novelty = (contribution.report or {}).get("novelty")
    amount = reward_amount(
        per_contribution=_int(policy.per_contribution),
        per_row=_int(policy.per_row),
        score=contribution.score,
        rows=None if novelty is None else int(novelty["rows"]),
        new=0 if novelty is None else int(novelty["new"]),
    )
    if amount == 0:
        return None
    return RewardEntry(
        dao_id=contribution.dataset.dao_id,
        dataset_id=contribution.dataset_id,
        account_id=contribution.contributor_id,
        amount=amount,
        reason="contribution",
        source_type="contributions.contribution",
        source_id=str(contribution.pk),
    )


def reward_credit_contributions(*, contributions: list[Any]) -> int:
    """``reward_credit_contribution`` for many (a pipeline batch), in a few statements: the
    policies, each DAO's open epoch, one insert. A credit already written stays (the unique
    key skips it). Returns how many credits were due."""
    policies = {
        p.dataset_id: p
        for p in RewardPolicy.objects.filter(dataset_id__in={c.dataset_id for c in contributions})
    }
    entries = []
    daos = {}
    for c in contributions:
        entry = _contribution_credit(policies.get(c.dataset_id), c)
        if entry is not None:
            daos[c.dataset.dao_id] = c.dataset.dao
            entries.append(entry)
    for dao in daos.values():
        epoch_current(dao=dao)  # as _credit_once: the open epoch exists from the first credit
    RewardEntry.objects.bulk_create(entries, ignore_conflicts=True)
    return len(entries)


def reward_credit_label(
    *, label: Any, agreement_bps: int, reputation_bps: int
) -> RewardEntry | None:
    """Credit a settled label once: per_label × reputation × P(the label is right) (floored).

    ``agreement_bps`` is the consensus posterior probability of the labeler's own answer
    (not whether they matched the raw majority); ``reputation_bps`` their reputation, both
    in basis points.
    """
    policy = RewardPolicy.objects.filter(dataset_id=label.dataset_id).first()
    if policy is None or policy.per_label == 0:
        return None
    agreement_bps = max(0, min(BPS, int(agreement_bps)))
    reputation_bps = max(0, min(BPS, int(reputation_bps)))
    return _credit_once(
        dataset=label.dataset,
        account_id=label.labeler_id,
        amount=_int(policy.per_label) * agreement_bps * reputation_bps // (BPS * BPS),
        reason="label",
        source_type="labeling.label",
        source_id=str(label.pk),
    )


# Credits of a challenger (``reward_credit_dispute``): the bond returned, their share (of
# recovered money or withdrawn royalties: unscaled; of a withdrawn reward: minted, budgeted).
DISPUTE_REASONS = (CHALLENGE_BOND, CHALLENGE_SHARE, CHALLENGE_REWARD)
# The credits a challenge can reverse: only these wait for the challenge window. Royalties
# too: the part a challenged piece of work earned is reversed with it (``rewards.clawbacks``).
CHALLENGEABLE_REASONS = ("contribution", "label", ROYALTY)


def reward_credit_dispute(
    *, dataset: Any, account_id: int, amount: int, reason: str, challenge_id: int
) -> RewardEntry | None:
    """Credit a challenger once per (challenge, reason): their bond returned, or their share
    of what was withdrawn. Settles in the next epoch like any credit; a budget scales only
    ``CHALLENGE_REWARD`` (the share of a withdrawn reward, minted in its place). None when
    ``amount`` is 0."""
    if reason not in DISPUTE_REASONS:
        raise RewardsError(Detail("%(reason)s is not a challenger's credit.", reason=repr(reason)))
    if amount <= 0:
        return None
    return _credit_once(
        dataset=dataset,
        account_id=account_id,
        amount=amount,
        reason=reason,
        source_type="disputes.challenge",
        source_id=str(challenge_id),
    )


def reward_withdraw_contribution(*, contribution: object) -> int:
    """Remove a contribution's unsettled credit (the DAO rejected it after acceptance).
    A credit already frozen into a closed epoch stays: that money is committed."""
    deleted, _ = RewardEntry.objects.filter(
        source_type="contributions.contribution",
        source_id=str(contribution.pk),  # type: ignore[attr-defined]
        epoch__isnull=True,
    ).delete()
    return deleted


def epoch_current(*, dao: DAO) -> Epoch:
    """The DAO's open epoch, created on first use (the unique constraint allows one)."""
    epoch = Epoch.objects.filter(dao=dao, status=EpochStatus.OPEN).first()
    if epoch is not None:
        return epoch
    last = Epoch.objects.filter(dao=dao).order_by("-number").values_list("number", flat=True)
    try:
        with transaction.atomic():
            return Epoch.objects.create(dao=dao, number=(last.first() or 0) + 1)
    except IntegrityError:
        return Epoch.objects.get(dao=dao, status=EpochStatus.OPEN)


def _allocations(
    entries: Iterable[tuple[str, int, str]], budget: int | None
) -> tuple[dict[str, int], bool]:
    """The settlement rule (``rewards.allocations.allocate``). ``entries``: (address, amount,
    reason)."""
    return allocate(entries, budget)


def _settling(dao: DAO, now: datetime) -> QuerySet[RewardEntry]:
    """The credits an epoch closed at ``now`` settles: every unsettled one, except, when the
    DAO makes epochs wait for the challenge window, a challengeable credit still inside its
    window or under an open challenge (``rewards.holds``): it waits for a later epoch. A
    royalty waits a window from its payment, and while any work that earned it is challenged."""
    entries = RewardEntry.objects.filter(dao=dao, epoch__isnull=True, created_at__lte=now)
    if not dao.epoch_waits_for_challenges:
        return entries
    cutoff = now - timedelta(seconds=dao.challenge_window_seconds)
    entries = entries.filter(~Q(reason__in=CHALLENGEABLE_REASONS) | Q(created_at__lte=cutoff))
    held = holds.held_sources(dao.pk)
    if held:
        # A royalty is held while any piece of work that earned it is.
        held |= royalty_credits_earned_by(dao=dao, sources=held)
        query = Q()
        for source_type, source_id in sorted(held):
            query |= Q(source_type=source_type, source_id=source_id)
        entries = entries.exclude(query)
    return entries


def epoch_simulate(*, dao: DAO) -> dict[str, int]:
    """What each address would get if the open epoch closed now (writes nothing), clawbacks
    netted."""
    entries = _settling(dao, timezone.now()).values_list("account__address", "amount", "reason")
    plan = _plan([(a, _int(v), r) for a, v, r in entries], _dao_budget(dao), clawback_dues(dao=dao))
    return dict(sorted(plan.allocations.items()))


@dataclass(frozen=True)
class EpochPlan:
    """What settling a list of credits gives: the leaves (address, amount > 0) sorted, their
    Merkle tree (None when nothing is paid), the total, whether the budget scaled them, every
    address's allocation after netting (zeros included) and the clawbacks netted
    (``rewards.netting.net``: (source, address, amount))."""

    values: list[tuple[str, int]]
    tree: Any
    total: int
    scaled: bool
    allocations: dict[str, int] = field(default_factory=dict)
    netted: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def root(self) -> str:
        return self.tree.root if self.tree is not None else epoch_inputs.EMPTY_ROOT


def _plan(
    rows: Iterable[tuple[str, int, str]],
    budget: int | None,
    dues: list[tuple[str, str, int]],
) -> EpochPlan:
    """The one settlement rule, shared by the close and its preview (so the preview's root is
    the root the close signs): allocate, then net the clawbacks ``dues``."""
    from rewards.merkle import StandardMerkleTree
    from rewards.netting import net

    allocations, scaled = _allocations(rows, budget)
    allocations, netted = net(allocations, dues)
    values = sorted((address, amount) for address, amount in allocations.items() if amount > 0)
    # The addresses are users' (EIP-55 when stored): their checksums are not computed again.
    tree = StandardMerkleTree.of(values, checksummed=True) if values else None
    return EpochPlan(
        values=values,
        tree=tree,
        total=sum(a for _, a in values),
        scaled=scaled,
        allocations=allocations,
        netted=netted,
    )


@dataclass(frozen=True)
class EpochPreviewRow:
    address: str
    amount: int
    contributions: int
    labels: int
    royalties: int = 0


@dataclass(frozen=True)
class EpochPreview:
    """Closing the open epoch now, without writing: per address what it would be paid and for
    how many credits, the accrued credits before any budget cap, and the EpochRoot message
    that would be signed (``typed_data`` None when nothing would be paid)."""

    epoch: Epoch
    rows: list[EpochPreviewRow]
    accrued: int
    plan: EpochPlan
    typed_data: dict[str, Any] | None


def epoch_accrued(*, dao: DAO) -> int:
    """The sum of the credits not settled yet: what the open epoch has accrued so far (before
    a budget cap scales it). One sum over the unsettled credits' index on PostgreSQL; summed
    in Python on SQLite, whose SUM overflows on token amounts."""
    entries = RewardEntry.objects.filter(dao=dao, epoch__isnull=True)
    if connection.vendor != "sqlite":
        return _int(entries.aggregate(s=Sum("amount"))["s"] or 0)
    amounts = entries.values_list("amount", flat=True)
    return sum(_int(a) for a in amounts.iterator(chunk_size=2000))


def epoch_preview(*, epoch: Epoch) -> EpochPreview:
    """What ``epoch_close`` would settle and sign for this open epoch if it ran now (writes
    nothing; the same rule, so the root shown is the root a close signs while no credit
    arrives in between)."""
    from rewards.eip712 import epoch_root_typed_data

    dao = epoch.dao
    entries = list(
        _settling(dao, timezone.now()).values_list("account__address", "amount", "reason")
    )
    plan = _plan([(a, _int(v), r) for a, v, r in entries], _dao_budget(dao), clawback_dues(dao=dao))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for address, _, reason in entries:
        kind = 2 if reason in ROYALTY_REASONS else 0 if reason == "contribution" else 1
        counts[address][kind] += 1
    rows = [
        EpochPreviewRow(
            address=a,
            amount=v,
            contributions=counts[a][0],
            labels=counts[a][1],
            royalties=counts[a][2],
        )
        for a, v in plan.values
    ]
    typed = None
    if plan.tree is not None:
        typed = epoch_root_typed_data(
            dao_id=dao.onchain_id,
            epoch=epoch.number,
            root=plan.root,
            total=plan.total,
            chain_id=dao.chain_id,
            verifying_contract=dao.reward_contract_address or ZERO_ADDRESS,
        )
    accrued = sum(_int(v) for _, v, _ in entries)
    return EpochPreview(epoch=epoch, rows=rows, accrued=accrued, plan=plan, typed_data=typed)


def _dao_budget(dao: DAO) -> int | None:
    budgets = [
        _int(b)
        for b in RewardPolicy.objects.filter(
            dataset__dao=dao, epoch_budget__isnull=False
        ).values_list("epoch_budget", flat=True)
    ]
    return sum(budgets) if budgets else None


@transaction.atomic
def epoch_close(
    *, dao: DAO, actor: User | None, number: int | None = None, expected_root: str | None = None
) -> Epoch:
    """Close epoch ``number`` (default: the DAO's open one): freeze its entries, allocate per
    address, build the OpenZeppelin Merkle tree, sign the EpochRoot (for this DAO's ``onchain_id``:
    no other DAO's distributor accepts it), pin the dump, store the tree (each allocation's
    proof is read from it: ``rewards.tree_store``), open the next epoch.

    One transaction under a lock on the epoch row: a second closer of the same epoch waits,
    then finds it closed and gets the same stored result.

    ``expected_root``: the root the closer reviewed (``epoch_preview``). When credits arrived
    since, the root differs and the close is refused with nothing written, so what is signed
    is what was confirmed.
    """
    from ipfs.services import content_add
    from rewards.eip712 import epoch_root_typed_data, sign_typed_data

    if number is None:
        number = epoch_current(dao=dao).number
    epoch = Epoch.objects.select_for_update().filter(dao=dao, number=number).first()
    if epoch is None:
        raise RewardsError(
            Detail("%(name)s has no epoch %(number)s.", name=dao.name, number=number)
        )
    if epoch.status == EpochStatus.CLOSED:
        return epoch
    signer = load_signer("rewards")  # before any write: no key, no close
    now = timezone.now()
    # One UPDATE claims (and locks) the settling credits: no list of ids round-trips, which at
    # a million credits cost more than the tree.
    if not _settling(dao, now).update(epoch=epoch):
        waiting = (
            Detail(" (credits wait for their challenge window to pass)")
            if dao.epoch_waits_for_challenges
            else ""
        )
        raise RewardsError(
            Detail(
                "Epoch %(number)s has no reward entries to settle yet%(waiting)s.",
                number=epoch.number,
                waiting=waiting,
            )
        )
    credits = [
        (address, _int(amount), reason, f"{source_type}:{source_id}")
        for address, amount, reason, source_type, source_id in RewardEntry.objects.filter(
            epoch=epoch
        )
        .values_list("account__address", "amount", "reason", "source_type", "source_id")
        .iterator(chunk_size=20_000)
    ]
    budget = _dao_budget(dao)
    # Locked: a voucher netting the same clawbacks waits, so nothing is recovered twice.
    # A generator: a second list of a million tuples would cost ~80 MB for one pass.
    plan = _plan(((a, v, r) for a, v, r, _ in credits), budget, clawback_dues(dao=dao, lock=True))
    # An epoch that pays nobody (its only earners owe more in clawbacks than they earned) still
    # closes: its credits are settled, what they recover is netted and the rest carried. Kept
    # open, it would wait for someone else to earn, and its netting with it.
    if expected_root is not None and plan.root != expected_root:
        raise RewardsError(
            Detail(
                "Epoch %(number)s changed since it was reviewed (new credits "
                "arrived): review the allocations again before closing.",
                number=epoch.number,
            )
        )
    tree, values, total, scaled = plan.tree, plan.values, plan.total, plan.scaled
    root = plan.root
    payload = epoch_root_typed_data(
        dao_id=dao.onchain_id,
        epoch=epoch.number,
        root=root,
        total=total,
        chain_id=dao.chain_id,
        verifying_contract=dao.reward_contract_address or ZERO_ADDRESS,
    )
    # No tree, no dump: an epoch that pays nobody has no leaf to prove. The dump is streamed
    # to the pin (about 230 bytes an allocation), never held whole.
    dump_cid = ""
    if tree is not None:
        dump_cid = content_add(
            stream=tree_store.ChunkStream(tree.iter_dump_json(sort_keys=True)),
            label=f"epoch:{dao.slug}:{epoch.number}",
            content_type="application/json",
            replication=dao.replication_factor,
        ).cid
    # What the root was computed from, for anyone to replay it (``rewards.epoch_inputs``),
    # streamed to its pin like the dump.
    inputs = epoch_inputs.iter_inputs_bytes(
        dao_id=dao.onchain_id,
        chain_id=dao.chain_id,
        epoch=epoch.number,
        verifying_contract=payload["domain"]["verifyingContract"],
        budget=budget,
        credits=credits,
        clawbacks=plan.netted,
    )
    inputs_pin = content_add(
        stream=tree_store.ChunkStream(inputs),
        label=f"epoch:{dao.slug}:{epoch.number}:inputs",
        content_type="application/json",
        replication=dao.replication_factor,
    )
    # The tree is stored once and each allocation keeps its leaf position: proofs are read
    # from the stored nodes (``rewards.tree_store``), none is stored.
    if tree is not None:
        tree_store.tree_store_write(epoch=epoch, nodes=tree.nodes)
        tree_store.allocations_write(epoch=epoch, values=values, tree_indices=tree.tree_indices)
    epoch.status = EpochStatus.CLOSED
    epoch.closed_at = now
    epoch.root = root
    epoch.total = total
    epoch.budget_scaled = scaled
    epoch.dump_cid = dump_cid
    epoch.inputs_cid = inputs_pin.cid
    epoch.root_typed_data = payload
    epoch.root_signature = sign_typed_data(payload, signer)
    epoch.signer = signer.address
    epoch.save()
    Epoch.objects.create(dao=dao, number=epoch.number + 1)
    clawback_record_netting(dao=dao, applied=plan.netted, epoch=epoch, actor=actor)
    audit_record(
        actor=actor,
        dao=dao,
        verb="epoch.closed",
        obj=epoch,
        details={
            "root": root,
            "total": str(total),
            "accounts": len(values),
            "cid": dump_cid,
            "clawed_back": str(sum(a for _, _, a in plan.netted)),
        },
    )
    events.emit(
        dao=dao,
        event_type=events.EventType.EPOCH_CLOSED,
        payload={
            "epoch": {
                "id": epoch.pk,
                "number": epoch.number,
                "root": root,
                # In the token's smallest unit, as a string: amounts exceed JSON's safe integers.
                "total": str(total),
                "accounts": len(values),
                "dump_cid": dump_cid or None,
                "closed_at": now.isoformat().replace("+00:00", "Z"),
            }
        },
    )
    # The distributor refuses a zero root, and there is nothing to claim: not relayed.
    if tree is not None and dao.reward_contract_address and chain_readable(dao.chain_id):
        send_on_commit("rewards.tasks.relay_epoch_root", epoch.pk)
    return epoch


@transaction.atomic
def voucher_issue(
    *,
    dao: DAO,
    contributor: str,
    amount: int,
    deadline: int,
    dataset_id: str,
    actor: User | None,
) -> Voucher:
    """Sign an EIP-712 Claim with the next nonce of (DAO, contributor), for the DAO's own
    ``onchain_id`` and reward contract: no other DAO's distributor accepts it.

    The contributor's clawbacks due in the DAO are netted first: the voucher pays ``amount``
    less what they owe (never below zero, the rest carried). A voucher they would absorb
    entirely is refused with nothing written."""
    from rewards.eip712 import claim_typed_data, sign_typed_data

    if not isinstance(amount, int) or not 0 < amount <= UINT256_MAX:
        raise RewardsError(
            Detail("The amount must be a whole number of the token's smallest unit > 0.")
        )
    if not dao.reward_contract_address:
        raise RewardsError(
            Detail("%(name)s has no reward contract address; set it first.", name=dao.name)
        )
    signer = load_signer("rewards")
    # Lock the DAO row so two issuers cannot pick the same nonce (the constraint would refuse).
    DAO.objects.select_for_update().filter(pk=dao.pk).first()
    last = (
        Voucher.objects.filter(dao=dao, contributor=contributor)
        .order_by("-nonce")
        .values_list("nonce", flat=True)
        .first()
    )
    nonce = 0 if last is None else _int(last) + 1  # nonce 0 is falsy: compare with None
    from rewards.netting import net

    requested = amount
    owed = clawback_dues(dao=dao, address=contributor, lock=True)
    left, netted = net({contributor: amount}, owed)
    amount = left[contributor]
    if amount == 0:
        raise RewardsError(
            Detail(
                "%(contributor)s owes %(sum)s in clawbacks in %(name)s: a "
                "voucher of %(requested)s would pay nothing; nothing was "
                "issued.",
                contributor=contributor,
                sum=sum((d for _, _, d in owed)),
                name=dao.name,
                requested=requested,
            )
        )
    payload = claim_typed_data(
        dao_id=dao.onchain_id,
        contributor=contributor,
        amount=amount,
        nonce=nonce,
        deadline=deadline,
        dataset_id=dataset_id,
        chain_id=dao.chain_id,
        verifying_contract=dao.reward_contract_address,
    )
    voucher = Voucher.objects.create(
        dao=dao,
        contributor=contributor,
        amount=amount,
        nonce=nonce,
        deadline=deadline,
        dataset_id=dataset_id,
        typed_data=payload,
        signature=sign_typed_data(payload, signer),
        signer=signer.address,
    )
    audit_record(
        actor=actor,
        dao=dao,
        verb="voucher.issued",
        obj=voucher,
        details={
            "contributor": contributor,
            "amount": str(amount),
            "requested": str(requested),
            "nonce": nonce,
        },
    )
    clawback_record_netting(dao=dao, applied=netted, voucher=voucher, actor=actor)
    return voucher
