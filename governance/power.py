"""How much a member's vote weighs, per the DAO's ``voting_power``, as of the proposal's
snapshot (its creation): a proposal's electorate cannot be changed while it is open.

* ``member``: 1 for each member who was a member when the proposal was made;
* ``reputation``: the member's accepted contributions (not withdrawn) and labels given in the
  DAO's datasets, one point each, counted when the proposal was made and stored with it
  (``Elector``): a contribution accepted later, or a member who joins later, adds nothing;
* ``token``: the member's balance of the DAO's voting token (ERC-20 ``balanceOf``) at the
  proposal's snapshot block, read from the chain through ``CHAIN_RPC_URLS``.

Only members vote, whatever the mode, and only those who were members when the proposal was
made and still are: someone who joins (or leaves and joins again) while it is open does not
vote on it, whatever reputation or tokens they hold.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Protocol

from django.db.models import Count, Q
from eth_abi import decode as abi_decode
from eth_utils import keccak

from contributions.models import Contribution, Status
from datadao.chain import _web3, chain_readable
from datadao.errors import Detail
from datadao.governed import VotingPower
from datadao.models import DAO, Membership, User
from governance.errors import ProposalRefused
from governance.models import Elector, Proposal
from labeling.models import Label

TOTAL_SUPPLY = keccak(text="totalSupply()")[:4]
BALANCE_OF = keccak(text="balanceOf(address)")[:4]
# Contributions that count: accepted, on their way to IPFS or pinned; consent not withdrawn.
COUNTED_STATUSES = (Status.ACCEPTED, Status.PINNING, Status.PINNED)


class TokenBalances(Protocol):
    """Reads an ERC-20's balances on a chain: the interface token voting needs."""

    def block_number(self, chain_id: int) -> int: ...

    def balance_at(self, chain_id: int, token: str, holder: str, block: int) -> int: ...

    def total_supply_at(self, chain_id: int, token: str, block: int) -> int: ...


class ChainBalances:
    """``TokenBalances`` over the chains ``settings.CHAIN_RPC_URLS`` lists
    (``datadao.chain``): a JSON-RPC endpoint, or a web3 provider in tests."""

    def _w3(self, chain_id: int):  # type: ignore[no-untyped-def]
        if not chain_readable(chain_id):
            raise ProposalRefused(
                "chain_unreadable",
                Detail(
                    "Chain %(chain_id)s is not in CHAIN_RPC_URLS: token voting "
                    "cannot read balances.",
                    chain_id=chain_id,
                ),
                409,
            )
        return _web3(chain_id)

    def block_number(self, chain_id: int) -> int:
        w3 = self._w3(chain_id)
        try:
            served = w3.eth.chain_id
            number = int(w3.eth.block_number)
        except Exception as exc:  # web3 raises transport and RPC errors of many classes
            raise _unreachable(chain_id, exc) from exc
        if served != chain_id:
            raise ProposalRefused(
                "chain_unreadable",
                Detail(
                    "The RPC endpoint configured for chain %(chain_id)s serves chain %(served)s.",
                    chain_id=chain_id,
                    served=served,
                ),
                409,
            )
        return number

    def balance_at(self, chain_id: int, token: str, holder: str, block: int) -> int:
        data = "0x" + BALANCE_OF.hex() + bytes.fromhex(holder[2:]).rjust(32, b"\0").hex()
        return self._uint_call(chain_id, token, data, block, "balanceOf()")

    def total_supply_at(self, chain_id: int, token: str, block: int) -> int:
        return self._uint_call(chain_id, token, "0x" + TOTAL_SUPPLY.hex(), block, "totalSupply()")

    def _uint_call(self, chain_id: int, token: str, data: str, block: int, what: str) -> int:
        w3 = self._w3(chain_id)
        try:
            answer = bytes(w3.eth.call({"to": token, "data": data}, block_identifier=block))
        except Exception as exc:
            raise _unreachable(chain_id, exc) from exc
        if len(answer) != 32:
            raise ProposalRefused(
                "chain_unreadable",
                Detail(
                    "%(token)s on chain %(chain_id)s does not answer %(what)s.",
                    token=token,
                    chain_id=chain_id,
                    what=what,
                ),
                409,
            )
        return int(abi_decode(["uint256"], answer)[0])


def _unreachable(chain_id: int, exc: Exception) -> ProposalRefused:
    return ProposalRefused(
        "chain_unreadable",
        Detail(
            "Could not read chain %(chain_id)s (%(name)s); try again later.",
            chain_id=chain_id,
            name=type(exc).__name__,
        ),
        503,
    )


# What token voting reads through; another reader can be put here (one per process).
balances: TokenBalances = ChainBalances()


def snapshot_block(*, dao: DAO) -> int | None:
    """The block a new proposal's token balances are read at (its latest), or None when the
    DAO does not vote by token."""
    if dao.voting_power != VotingPower.TOKEN:
        return None
    return balances.block_number(dao.chain_id)


def reputations(*, dao: DAO, at: datetime) -> dict[int, int]:
    """{user id: reputation} of every member of ``dao`` at ``at`` with any: one point per
    contribution accepted (and not withdrawn) and per label given in the DAO's datasets, as the
    rows stand now, up to ``at``. Two grouped queries."""
    member_ids = Membership.objects.filter(dao=dao, created_at__lte=at).values("user_id")
    points: Counter[int] = Counter()
    contributions = (
        Contribution.objects.filter(
            Q(status__in=COUNTED_STATUSES),
            dataset__dao=dao,
            contributor_id__in=member_ids,
            withdrawn_at__isnull=True,
            created_at__lte=at,
        )
        .values("contributor_id")
        .annotate(n=Count("id"))
        .values_list("contributor_id", "n")
    )
    labels = (
        Label.objects.filter(dataset__dao=dao, labeler_id__in=member_ids, created_at__lte=at)
        .values("labeler_id")
        .annotate(n=Count("id"))
        .values_list("labeler_id", "n")
    )
    for rows in (contributions, labels):
        for user_id, n in rows:
            points[user_id] += n
    return {user_id: n for user_id, n in points.items() if n > 0}


def electors_record(*, proposal: Proposal, powers: dict[int, int]) -> None:
    """Store a reputation proposal's electorate, as counted when it was made."""
    Elector.objects.bulk_create(
        [Elector(proposal=proposal, user_id=user_id, power=n) for user_id, n in powers.items()],
        batch_size=2000,
    )


def power_of(*, proposal: Proposal, user: User) -> int:
    """``user``'s voting power on ``proposal``: 0 for anyone who is not a member now or was not
    one when the proposal was made."""
    membership = Membership.objects.filter(dao_id=proposal.dao_id, user=user).first()
    if membership is None or membership.created_at > proposal.created_at:
        return 0
    if proposal.voting_power == VotingPower.MEMBER:
        return 1
    if proposal.voting_power == VotingPower.REPUTATION:
        elector = Elector.objects.filter(proposal=proposal, user=user).first()
        return int(elector.power) if elector is not None else 0
    assert proposal.snapshot_block is not None  # a constraint of token proposals
    return balances.balance_at(
        proposal.dao.chain_id, proposal.voting_token, user.address, proposal.snapshot_block
    )


def eligible_power(*, dao: DAO, at: datetime, block: int | None) -> int:
    """All the voting power a proposal made at ``at`` (``block`` for token voting) could
    gather: the base of the DAO's minimum quorum. Members who joined by ``at`` (one member, one
    vote), their reputation at ``at``, or the token's total supply at ``block``."""
    if dao.voting_power == VotingPower.MEMBER:
        return Membership.objects.filter(dao=dao, created_at__lte=at).count()
    if dao.voting_power == VotingPower.REPUTATION:
        return sum(reputations(dao=dao, at=at).values())
    assert block is not None
    return balances.total_supply_at(dao.chain_id, dao.voting_token, block)


def minimum_quorum(*, dao: DAO, eligible: int) -> int:
    """The least quorum a proposal may set: the DAO's share of the eligible power, rounded
    up, and never below 1, so that nobody passes a proposal alone in a DAO of many."""
    return max(1, -(-eligible * dao.governance_min_quorum_bps // 10_000))
