"""Royalties: what data consumers pay, credited to the reward pool.

A confirmed payment for a dataset's release is split once: the DAO's treasury share
(``RoyaltyPolicy``) first, the rest among the release's contributors pro rata by accepted
score (``rewards.split``). Each part is a ``RewardEntry``, so it is frozen into the next epoch
when it closes and paid through the same signed Merkle root as every other reward. Royalty
entries are exempt from a dataset's epoch budget (``services._allocations``): the budget bounds
what the DAO mints for contributions, not revenue a consumer has already paid.

Rewards sits below the apps that know releases and purchases: the caller passes the shares
(``contributions.royalties.release_shares``) and a key naming the payment.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from datadao.errors import Detail
from datadao.models import DAO, Dataset, User
from datadao.services import audit_record, normalize_address, user_get_or_create
from rewards.models import (
    ROYALTY,
    ROYALTY_TREASURY,
    RewardEntry,
    RoyaltyPayment,
    RoyaltyPolicy,
)
from rewards.royalty_sources import SOURCE_TYPE, royalty_source_id
from rewards.services import UINT256_MAX, RewardsError, epoch_current
from rewards.split import BPS, SplitError, split_pro_rata, treasury_cut

# (user id, score) or (user id, score, the source that earned it).
Share = tuple[int, int] | tuple[int, int, str]
PAYMENT_KEY_MAX = 128


def _payment_key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RewardsError(
            Detail("A royalty needs a payment key naming the payment (e.g. its tx hash).")
        )
    key = value.strip()
    if len(key) > PAYMENT_KEY_MAX:
        raise RewardsError(
            Detail(
                "The payment key is longer than %(payment_key_max)s characters.",
                payment_key_max=PAYMENT_KEY_MAX,
            )
        )
    return key


def _amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= UINT256_MAX:
        raise RewardsError(
            Detail(
                "A royalty must be a whole number of the token's smallest unit > 0, not %(value)s.",
                value=repr(value),
            )
        )
    return value


def _policy(dao: DAO) -> tuple[int, str]:
    policy = RoyaltyPolicy.objects.filter(dao=dao).first()
    if policy is None:
        return 0, ""
    bps, address = policy.treasury_share_bps, policy.treasury_address
    if not 0 <= bps <= BPS:
        raise RewardsError(
            Detail(
                "The treasury share %(bps)s is outside 0..%(bps2)s basis points.",
                bps=bps,
                bps2=BPS,
            )
        )
    if bps and not address:
        raise RewardsError(
            Detail(
                "%(name)s keeps a treasury share of %(bps)s basis points but "
                "has no treasury address: set one in its royalty policy "
                "first.",
                name=dao.name,
                bps=bps,
            )
        )
    return bps, address


def _payees(shares: list[Share]) -> tuple[dict[int, User], int]:
    """The users the shares name, and the total score; refuses what cannot be split."""
    if not shares:
        raise RewardsError(Detail("The release consumed lists no contributor to pay."))
    for share in shares:
        if (
            not isinstance(share, tuple | list)
            or len(share) not in (2, 3)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in share[:2])
            or (len(share) == 3 and not (isinstance(share[2], str) and 0 < len(share[2]) <= 96))
        ):
            raise RewardsError(
                Detail(
                    "A share is (user id, score) in integers, and optionally the source that "
                    "earned it, not %(share)s.",
                    share=repr(share),
                )
            )
        if share[1] < 0:
            raise RewardsError(
                Detail(
                    "User %(share)s has a negative score %(share2)s.",
                    share=share[0],
                    share2=share[1],
                )
            )
    total = sum(share[1] for share in shares)
    if total == 0:
        raise RewardsError(
            Detail("The contributors' scores add up to 0: there is nothing to split by.")
        )
    users = User.objects.in_bulk({uid for uid, score, *_ in shares if score > 0})
    missing = sorted({uid for uid, score, *_ in shares if score > 0} - set(users))
    if missing:
        raise RewardsError(
            Detail(
                "No user has the id %(missing)s; the shares must name users.", missing=missing[0]
            )
        )
    return users, total


@transaction.atomic
def royalty_distribute(
    *,
    dao: DAO,
    dataset: Dataset,
    payment_key: str,
    amount: int,
    shares: list[Share],
    release_cid: str = "",
    actor: User | None = None,
) -> RoyaltyPayment:
    """Credit a consumer's payment of ``amount`` (the token's smallest unit) for ``dataset``
    to the reward pool: the DAO's treasury share to its treasury address, the rest to the
    users in ``shares`` ((user id, accepted score), one per contribution of the release
    consumed, optionally with the source that earned it, e.g. "contributions.contribution:12":
    then that source's part can be reversed on its own) pro rata by score.

    Guarantees: the credits add up to exactly ``amount`` (largest remainder, ties by address);
    a payee with several contributions gets one credit; a payment key is credited once (a
    repeat with the same dataset and amount returns the stored payment and credits nothing,
    a different one is refused); nothing is written when anything is refused. The credits
    settle in the DAO's next epoch close, unscaled by any epoch budget.
    """
    key = _payment_key(payment_key)
    value = _amount(amount)
    if dataset.dao_id != dao.pk:
        raise RewardsError(
            Detail("The dataset '%(name)s' is not %(name2)s's.", name=dataset.name, name2=dao.name)
        )
    existing = RoyaltyPayment.objects.filter(payment_key=key).first()
    if existing is not None:
        return _same_payment(existing, dao=dao, dataset=dataset, amount=value)
    users, total = _payees(shares)
    bps, treasury_address = _policy(dao)
    treasury = treasury_cut(value, bps)
    # Keyed by lower-case address: the tie-break is the same however an address is spelled.
    by_address = {u.address.lower(): u for u in users.values()}
    try:
        parts = split_pro_rata(
            value - treasury,
            [(users[uid].address.lower(), score) for uid, score, *_ in shares if score > 0],
        )
    except SplitError as exc:  # unreachable after _payees' checks; a guard
        raise RewardsError(str(exc)) from None
    scores: dict[int, int] = {}
    for uid, score, *_ in shares:
        scores[uid] = scores.get(uid, 0) + score
    # Which source earned which part of a payee's score, so that one can be reversed alone.
    sources = [
        {"account": share[0], "score": share[1], "source": share[2]}
        for share in shares
        if len(share) == 3 and share[1] > 0
    ]
    split = [
        {
            "account": by_address[address].pk,
            "address": by_address[address].address,
            "score": scores[by_address[address].pk],
            "amount": str(part),
        }
        for address, part in parts.items()
    ]
    epoch_current(dao=dao)  # as every credit: the open epoch exists from the first one
    try:
        with transaction.atomic():
            payment = RoyaltyPayment.objects.create(
                dao=dao,
                dataset=dataset,
                release_cid=release_cid[:128],
                payment_key=key,
                amount=value,
                treasury_share_bps=bps,
                treasury_address=treasury_address if bps else "",
                treasury_amount=treasury,
                total_score=total,
                shares=split,
                sources=sources,
            )
    except IntegrityError:
        # A concurrent call with the same key committed first: its credits stand.
        existing = RoyaltyPayment.objects.get(payment_key=key)
        return _same_payment(existing, dao=dao, dataset=dataset, amount=value)
    entries = [
        _entry(payment, account_id=row["account"], amount=int(row["amount"]), reason=ROYALTY)
        for row in split
        if int(row["amount"]) > 0
    ]
    if treasury > 0:
        treasurer, _ = user_get_or_create(address=treasury_address)
        entries.append(
            _entry(payment, account_id=treasurer.pk, amount=treasury, reason=ROYALTY_TREASURY)
        )
    RewardEntry.objects.bulk_create(entries)
    audit_record(
        actor=actor,
        dao=dao,
        verb="royalty.distributed",
        obj=payment,
        details={
            "payment_key": key,
            "dataset": dataset.pk,
            "amount": str(value),
            "treasury": str(treasury),
            "treasury_share_bps": bps,
            "contributors": len(split),
            "release": payment.release_cid,
        },
    )
    return payment


def _entry(payment: RoyaltyPayment, *, account_id: int, amount: int, reason: str) -> RewardEntry:
    return RewardEntry(
        dao_id=payment.dao_id,
        dataset_id=payment.dataset_id,
        account_id=account_id,
        amount=amount,
        reason=reason,
        source_type=SOURCE_TYPE,
        source_id=royalty_source_id(payment.pk, None if reason == ROYALTY_TREASURY else account_id),
    )


def _same_payment(
    payment: RoyaltyPayment, *, dao: DAO, dataset: Dataset, amount: int
) -> RoyaltyPayment:
    if payment.dao_id == dao.pk and payment.dataset_id == dataset.pk and payment.amount == amount:
        return payment
    raise RewardsError(
        Detail(
            "The payment %(payment_key)s is already credited, for "
            "%(amount)s on another dataset or amount; a payment is "
            "credited once.",
            payment_key=payment.payment_key,
            amount=payment.amount,
        ),
        code="payment_key_used",
        status_code=409,
    )


def royalty_policy_check(*, treasury_share_bps: object, treasury_address: str) -> str:
    """The treasury address, checksummed ("" for none), if the two settings make a policy;
    else RewardsError naming the problem. The console's form and the service share it."""
    if isinstance(treasury_share_bps, bool) or not isinstance(treasury_share_bps, int):
        raise RewardsError(
            Detail("The treasury share is a whole number of basis points (0..10000).")
        )
    if not 0 <= treasury_share_bps <= BPS:
        raise RewardsError(
            Detail(
                "The treasury share must be between 0 and %(bps)s basis "
                "points, not %(treasury_share_bps)s.",
                bps=BPS,
                treasury_share_bps=treasury_share_bps,
            )
        )
    address = (treasury_address or "").strip()
    if not address:
        if treasury_share_bps:
            raise RewardsError(
                Detail("A treasury share above 0 needs a treasury address to pay it to.")
            )
        return ""
    try:
        return normalize_address(address)
    except ValidationError as exc:
        raise RewardsError(exc.messages[0]) from None


@transaction.atomic
def royalty_policy_set(
    *, dao: DAO, actor: User | None, treasury_share_bps: int, treasury_address: str
) -> RoyaltyPolicy:
    """Set the share of each royalty the DAO's treasury keeps, and where it is paid. Applies
    to payments credited from now on; those already credited keep their split. Audited with
    the values before and after (nothing when nothing changes)."""
    address = royalty_policy_check(
        treasury_share_bps=treasury_share_bps, treasury_address=treasury_address
    )
    policy = RoyaltyPolicy.objects.select_for_update().filter(dao=dao).first()
    before = None
    if policy is None:
        policy = RoyaltyPolicy(dao=dao)
    else:
        before = {
            "treasury_share_bps": policy.treasury_share_bps,
            "treasury_address": policy.treasury_address,
        }
    after = {"treasury_share_bps": treasury_share_bps, "treasury_address": address}
    if before == after:
        return policy
    policy.treasury_share_bps = treasury_share_bps
    policy.treasury_address = address
    policy.save()
    audit_record(
        actor=actor,
        dao=dao,
        verb="royalty_policy.updated",
        obj=policy,
        details={"before": before, "after": after},
    )
    return policy
