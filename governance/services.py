"""Writes of governance: propose, vote, close, publish, execute.

Each is one transaction with a status guard under the proposal's row lock, so a retried task
or two workers at once move a proposal once. A proposal's life:

1. ``proposal_create``: a member proposes a change (checked for its kind as the console
   checks it); the voting power mode, snapshot and timelock are fixed into the document whose
   keccak-256 every vote signs.
2. ``vote_cast``: a member's EIP-712 ``Vote``, checked against the proposal; a later vote
   (larger timestamp) replaces the voter's earlier one until the period ends.
3. ``proposal_close``: once the period has ended, the tally (open → closed).
4. ``proposal_publish``: the proposal and every vote, pinned to IPFS as one JSON file
   (closed → passed or rejected).
5. ``proposal_execute``: a passed proposal, once its timelock has run, applied by the
   service the console uses with the proposal named in its audit event (→ executed, or
   failed with the service's refusal).

``proposal_settle`` runs steps 3–5 as far as they are due; the task and the sweeper call it.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone

from datadao.errors import ApplicationError, Detail
from datadao.governed import VotingPower
from datadao.labels import label_detail
from datadao.models import DAO, Membership, User
from datadao.services import audit_record
from governance import power, vote712
from governance.changes import change_apply, change_check
from governance.errors import ProposalRefused
from governance.models import Proposal, ProposalStatus, Vote
from ipfs.services import content_add

MIN_PERIOD_SECONDS = 60
MAX_PERIOD_SECONDS = 30 * 24 * 3600
UINT256_MAX = 2**256 - 1
# How far ahead of the server's clock a vote's signed timestamp may be.
CLOCK_SKEW_SECONDS = 60
DOCUMENT_FORMAT = 1


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _quorum(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 78:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= UINT256_MAX:
        raise ProposalRefused(
            "bad_request",
            Detail(
                "quorum: the voting power that must be cast, a whole number "
                "from 1 (a decimal string for token amounts)."
            ),
        )
    return value


def _text(value: Any, field: str, *, limit: int, required: bool) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        need = Detail("a non-empty string") if required else Detail("a string")
        raise ProposalRefused(
            "bad_request",
            Detail(
                "%(field)s: %(need)s of at most %(limit)s characters.",
                field=field,
                need=need,
                limit=limit,
            ),
        )
    return value.strip()


@transaction.atomic
def proposal_create(
    *,
    dao: DAO,
    proposer: User,
    title: Any,
    description: Any,
    kind: Any,
    change: Any,
    voting_period_seconds: Any,
    quorum: Any,
    now: datetime | None = None,
) -> Proposal:
    """Open a proposal: only a member proposes; the change is checked for its kind by the
    console's validation (``governance.changes``), refused with 400 naming the field. The
    voting power mode and token, the snapshot (the creation time, and for token voting the
    chain's latest block) and the DAO's timelock are fixed into the proposal's document."""
    # As they stand now (a caller's copy may be older): they are fixed into the proposal.
    dao = DAO.objects.get(pk=dao.pk)
    if not Membership.objects.filter(dao=dao, user=proposer).exists():
        raise ProposalRefused(
            "not_member", Detail("Only members of %(name)s may propose.", name=dao.name), 403
        )
    title = _text(title, "title", limit=200, required=True)
    description = _text(description, "description", limit=20_000, required=False)
    period = voting_period_seconds
    if isinstance(period, bool) or not isinstance(period, int):
        raise ProposalRefused("bad_request", Detail("voting_period_seconds: whole seconds."))
    if not MIN_PERIOD_SECONDS <= period <= MAX_PERIOD_SECONDS:
        raise ProposalRefused(
            "bad_request",
            Detail(
                "voting_period_seconds: from %(min_period_seconds)s to %(max_period_seconds)s.",
                min_period_seconds=MIN_PERIOD_SECONDS,
                max_period_seconds=MAX_PERIOD_SECONDS,
            ),
        )
    if period < dao.governance_min_period_seconds:
        raise ProposalRefused(
            "period_too_short",
            Detail(
                "voting_period_seconds: at least "
                "%(governance_min_period_seconds)s, %(name)s's minimum, so "
                "members can see the proposal and vote against it.",
                governance_min_period_seconds=dao.governance_min_period_seconds,
                name=dao.name,
            ),
        )
    quorum = _quorum(quorum)
    checked = change_check(dao=dao, kind=kind, change=change)
    block = power.snapshot_block(dao=dao)
    start = (now or timezone.now()).replace(microsecond=0)
    end = start + timedelta(seconds=period)
    # A proposer picks the quorum, but never below the DAO's share of all eligible power:
    # otherwise one member could propose, vote alone and pass anything (a role for themselves).
    # Reputation is counted once, now, and kept with the proposal: the votes carry exactly
    # what the minimum quorum was computed from.
    powers: dict[int, int] | None = None
    if dao.voting_power == VotingPower.REPUTATION:
        powers = power.reputations(dao=dao, at=start)
        eligible = sum(powers.values())
    else:
        eligible = power.eligible_power(dao=dao, at=start, block=block)
    least = power.minimum_quorum(dao=dao, eligible=eligible)
    if quorum < least:
        raise ProposalRefused(
            "quorum_too_low",
            Detail(
                "quorum: at least %(least)s, %(name)s's minimum (%(value)s "
                "%% of the %(eligible)s voting power eligible now).",
                least=least,
                name=dao.name,
                value=format(dao.governance_min_quorum_bps / 100, "g"),
                eligible=eligible,
            ),
        )
    token = dao.voting_token if block is not None else ""
    document = {
        "datadao_proposal": DOCUMENT_FORMAT,
        "dao": {"id": dao.onchain_id, "slug": dao.slug, "chain_id": dao.chain_id},
        "proposer": proposer.address,
        "title": title,
        "description": description,
        "kind": kind,
        "change": checked.change,
        "quorum": str(quorum),
        "voting_power": {
            "mode": dao.voting_power,
            "snapshot_time": _iso(start),
            "token": token or None,
            "snapshot_block": block,
            "eligible": str(eligible),
            "min_quorum_bps": dao.governance_min_quorum_bps,
        },
        "starts_at": _iso(start),
        "ends_at": _iso(end),
        "timelock_seconds": dao.governance_timelock_seconds,
        # Two proposals with the same words are two proposals: a vote binds to one.
        "nonce": "0x" + secrets.token_hex(32),
    }
    proposal = Proposal.objects.create(
        dao=dao,
        proposer=proposer,
        title=title,
        description=description,
        kind=kind,
        change=checked.change,
        dataset=checked.dataset,
        quorum=quorum,
        voting_power=dao.voting_power,
        voting_token=token,
        snapshot_block=block,
        starts_at=start,
        ends_at=end,
        timelock_seconds=dao.governance_timelock_seconds,
        document=document,
        hash=vote712.proposal_hash(document),
        created_at=start,
    )
    if powers is not None:
        power.electors_record(proposal=proposal, powers=powers)
    audit_record(
        actor=proposer,
        dao=dao,
        verb="proposal.created",
        obj=proposal,
        details={"kind": kind, "hash": proposal.hash, "ends_at": document["ends_at"]},
    )
    return proposal


@transaction.atomic
def vote_cast(
    *,
    proposal: Proposal,
    user: User,
    typed_data: Any,
    signature: Any,
    now: datetime | None = None,
) -> tuple[Vote, bool]:
    """Record ``user``'s signed vote, or replace their earlier one with it; returns (the
    vote, whether it is their first). Refuses (``VoteRefused``) a closed period (409), typed
    data for another domain or chain, another DAO or proposal, a signature not by the
    message's ``from`` (400), a ``from`` other than ``user`` (403), a non-member or a member
    without voting power (403), a timestamp in the future (400) and a vote no newer than the
    one it would replace (409: a replayed or reordered vote)."""
    refused = vote712.VoteRefused
    now = now or timezone.now()
    proposal = Proposal.objects.select_for_update().select_related("dao").get(pk=proposal.pk)
    dao = proposal.dao
    if proposal.status != ProposalStatus.OPEN or now >= proposal.ends_at:
        raise refused(
            "proposal_closed",
            Detail(
                "Voting on proposal %(pk)s closed at %(iso)s.",
                pk=proposal.pk,
                iso=_iso(proposal.ends_at),
            ),
            409,
        )
    vote712.check_domain(typed_data, chain_id=dao.chain_id)
    ballot = vote712.parse_ballot(typed_data.get("message"))
    if ballot.space != dao.onchain_id:
        raise refused(
            "wrong_dao",
            Detail(
                "message.space must be this DAO's id %(onchain_id)s (its daoId).",
                onchain_id=dao.onchain_id,
            ),
        )
    if ballot.proposal != proposal.hash:
        raise refused(
            "wrong_proposal",
            Detail(
                "message.proposal must be proposal %(pk)s's hash %(hash)s.",
                pk=proposal.pk,
                hash=proposal.hash,
            ),
        )
    raw = vote712.signature_bytes(signature)
    signer = vote712.recover(ballot, raw, chain_id=dao.chain_id)
    if signer != ballot.voter:
        raise refused(
            "wrong_signer",
            Detail(
                "The vote was signed by %(signer)s, not by its 'from' %(voter)s.",
                signer=signer,
                voter=ballot.voter,
            ),
        )
    if ballot.voter != user.address:
        raise refused(
            "wrong_voter",
            Detail(
                "The vote is from %(voter)s; you are signed in as %(address)s.",
                voter=ballot.voter,
                address=user.address,
            ),
            403,
        )
    if ballot.timestamp > now.timestamp() + CLOCK_SKEW_SECONDS:
        raise refused("issued_in_future", Detail("message.timestamp is in the future."))
    weight = power.power_of(proposal=proposal, user=user)
    if weight <= 0:
        if not Membership.objects.filter(dao=dao, user=user).exists():
            raise refused(
                "not_member", Detail("Only members of %(name)s vote.", name=dao.name), 403
            )
        raise refused(
            "no_voting_power",
            Detail(
                "You have no voting power on proposal %(pk)s (%(power)s, as of its snapshot).",
                pk=proposal.pk,
                power=label_detail(VotingPower(proposal.voting_power), lower=True),
            ),
            403,
        )
    vote = Vote.objects.select_for_update().filter(proposal=proposal, voter=user).first()
    if vote is not None and ballot.timestamp <= vote.timestamp:
        raise refused(
            "stale_vote",
            Detail(
                "Your current vote was signed at %(timestamp)s; a vote replaces it only with a "
                "later timestamp (this one: %(timestamp2)s).",
                timestamp=vote.timestamp,
                timestamp2=ballot.timestamp,
            ),
            409,
        )
    first = vote is None
    if vote is None:
        vote = Vote(proposal=proposal, voter=user, created_at=now)
    vote.choice = ballot.choice
    vote.power = weight
    vote.timestamp = ballot.timestamp
    vote.reason = ballot.reason
    vote.message = ballot.message()
    vote.signature = "0x" + raw.hex()
    vote.updated_at = now
    vote.save()
    audit_record(
        actor=user,
        dao=dao,
        verb="proposal.voted" if first else "proposal.vote_changed",
        obj=proposal,
        details={"choice": vote712.CHOICES[ballot.choice], "power": str(weight)},
    )
    return vote, first


def _locked(proposal_id: int) -> Proposal | None:
    return Proposal.objects.select_for_update().filter(pk=proposal_id).first()


@transaction.atomic
def proposal_close(*, proposal_id: int, now: datetime | None = None) -> Proposal | None:
    """Tally a proposal whose period has ended (open → closed). Does nothing to one still
    running or already closed; None when it is gone."""
    proposal = _locked(proposal_id)
    now = now or timezone.now()
    if proposal is None or proposal.status != ProposalStatus.OPEN or now < proposal.ends_at:
        return proposal
    votes = [(v.choice, int(v.power)) for v in proposal.votes.all()]
    proposal.tally = vote712.tally(votes, quorum=int(proposal.quorum))
    proposal.status = ProposalStatus.CLOSED
    proposal.closed_at = now
    proposal.save(update_fields=["tally", "status", "closed_at"])
    audit_record(
        actor=None,
        dao=proposal.dao,
        verb="proposal.closed",
        obj=proposal,
        details={"tally": proposal.tally},
    )
    return proposal


def published_document(proposal: Proposal) -> dict[str, Any]:
    """What is pinned for a closed proposal: the document the votes sign, its hash, the
    EIP-712 domain and types, every vote as signed with its voting power, and the tally.
    Everything needed to check the result without this platform (``vote712.verify_published``).
    The same proposal always gives the same bytes, so a retried pin is the same CID."""
    votes = proposal.votes.select_related("voter").order_by("voter__address")
    return {
        "datadao_proposal_result": DOCUMENT_FORMAT,
        "id": proposal.pk,
        "hash": proposal.hash,
        "proposal": proposal.document,
        "eip712": vote712.eip712(proposal.dao.chain_id),
        "votes": [
            {
                "message": vote.message,
                "signature": vote.signature,
                "signer": vote.voter.address,
                "power": str(int(vote.power)),
            }
            for vote in votes
        ],
        "tally": proposal.tally,
        "closed_at": _iso(proposal.closed_at) if proposal.closed_at else None,
    }


def proposal_publish(*, proposal_id: int) -> Proposal | None:
    """Pin a closed proposal with all its votes and record the result (closed → passed or
    rejected). The pin is made outside the row lock (it is the same bytes however often it
    is retried); the status moves once. Raises ``IpfsUnavailable`` when the backend cannot
    be reached: the proposal stays closed and is published by the next try."""
    proposal = Proposal.objects.select_related("dao").filter(pk=proposal_id).first()
    if proposal is None or proposal.status != ProposalStatus.CLOSED:
        return proposal
    data = vote712.canonical_json(published_document(proposal))
    pin = content_add(
        stream=io.BytesIO(data), label=f"proposal:{proposal.pk}", content_type="application/json"
    )
    with transaction.atomic():
        proposal = _locked(proposal_id)
        if proposal is None or proposal.status != ProposalStatus.CLOSED:
            return proposal
        passed = proposal.tally["result"] == "passed"
        proposal.status = ProposalStatus.PASSED if passed else ProposalStatus.REJECTED
        proposal.cid = pin.cid
        proposal.save(update_fields=["status", "cid"])
        audit_record(
            actor=None,
            dao=proposal.dao,
            verb="proposal.passed" if passed else "proposal.rejected",
            obj=proposal,
            details={"cid": pin.cid, "tally": proposal.tally},
        )
    return proposal


def executable_at(proposal: Proposal) -> datetime:
    """When a passed proposal may be applied: its period's end plus its timelock."""
    return proposal.ends_at + timedelta(seconds=proposal.timelock_seconds)


@transaction.atomic
def proposal_execute(*, proposal_id: int, now: datetime | None = None) -> Proposal | None:
    """Apply a passed proposal whose timelock has run (passed → executed) through the
    console's service, which names the proposal in its audit event. When that service
    refuses the change (it no longer holds: the dataset moved on, the member left), the
    proposal is marked failed with the refusal; nothing of the change is kept. A backend
    that cannot be reached (IPFS for a release) raises: the next try executes it."""
    proposal = _locked(proposal_id)
    now = now or timezone.now()
    if proposal is None or proposal.status != ProposalStatus.PASSED:
        return proposal
    if now < executable_at(proposal):
        return proposal
    dao = proposal.dao
    try:
        with transaction.atomic():
            done = change_apply(
                dao=dao, kind=proposal.kind, change=proposal.change, proposal=proposal.pk
            )
    except (ApplicationError, ValidationError, ObjectDoesNotExist) as exc:
        message = (
            " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        ) or type(exc).__name__
        proposal.status = ProposalStatus.FAILED
        proposal.failure = message
        proposal.save(update_fields=["status", "failure"])
        audit_record(
            actor=None, dao=dao, verb="proposal.failed", obj=proposal, details={"why": message}
        )
        return proposal
    proposal.status = ProposalStatus.EXECUTED
    proposal.executed_at = now
    proposal.save(update_fields=["status", "executed_at"])
    audit_record(
        actor=None,
        dao=dao,
        verb="proposal.executed",
        obj=proposal,
        details={"kind": proposal.kind, "change": proposal.change, **done},
    )
    return proposal


def proposal_settle(*, proposal_id: int, now: datetime | None = None) -> Proposal | None:
    """Take a proposal as far as it is due: close, publish, execute. Idempotent."""
    proposal_close(proposal_id=proposal_id, now=now)
    proposal_publish(proposal_id=proposal_id)
    return proposal_execute(proposal_id=proposal_id, now=now)


def proposals_due(*, now: datetime, limit: int) -> list[int]:
    """Proposals with a step due at ``now``: open past their period, closed and not yet
    published, passed past their timelock."""
    ended = Proposal.objects.filter(status=ProposalStatus.OPEN, ends_at__lte=now)
    closed = Proposal.objects.filter(status=ProposalStatus.CLOSED)
    ids = list(ended.values_list("pk", flat=True)[:limit])
    ids += list(closed.values_list("pk", flat=True)[: limit - len(ids)])
    passed = Proposal.objects.filter(status=ProposalStatus.PASSED, ends_at__lte=now)
    for proposal in passed.only("pk", "ends_at", "timelock_seconds")[: limit - len(ids)]:
        if executable_at(proposal) <= now:
            ids.append(proposal.pk)
    return ids
