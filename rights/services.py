"""Writes for data rights: prices, purchases, grants, revocations and the read log.

Each service checks who may act and the state it starts from inside its transaction, and
leaves nothing half-stored; refusals are ``ApplicationError``s with a stable code. Uniqueness
(a transaction pays once, a nonce is used once per DAO) is the database's, so no path can
replay either.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

from contributions.attestation import dataset_id_bytes32
from contributions.models import Release
from contributions.royalties import release_share_sources
from datadao.errors import ApplicationError, Detail
from datadao.models import DAO, Dataset, Membership, User, Visibility
from datadao.services import audit_record
from rewards.royalties import royalty_distribute
from rights import grant712, selectors
from rights.models import (
    AccessGrant,
    DatasetOffer,
    Purchase,
    PurchaseStatus,
    ReadBasis,
    ReadEvent,
)

UINT256_MAX = 2**256 - 1
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class RightsRefused(ApplicationError):
    def __init__(self, code: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message, code=code, status_code=status_code)


def _require_manager(actor: User, dao_id: int, what: Detail) -> None:
    if not selectors.is_manager(user=actor, dao_id=dao_id):
        raise RightsRefused(
            "not_admin",
            Detail("Only a creator or admin of this DAO may %(what)s.", what=what),
            status_code=403,
        )


def _tx_hash(value: Any) -> str:
    if not isinstance(value, str) or not _TX_HASH.fullmatch(value):
        raise RightsRefused(
            "bad_tx_hash", Detail("tx_hash must be a transaction hash: 0x and 64 hex digits.")
        )
    return value.lower()


# --- prices -----------------------------------------------------------------------------------


@transaction.atomic
def offer_set(
    *, dataset: Dataset, actor: User, price: int, payment_address: str = ""
) -> DatasetOffer:
    """Put a members-only dataset up for sale at ``price`` (smallest token units), paid to
    ``payment_address`` or, when empty, to the DAO's reward distributor. Refuses a public
    dataset (it is free), a price outside 1..2**256-1, and no address to pay."""
    dataset = Dataset.objects.select_for_update().select_related("dao").get(pk=dataset.pk)
    _require_manager(actor, dataset.dao_id, Detail("set a price"))
    if dataset.visibility == Visibility.PUBLIC:
        raise RightsRefused(
            "public_dataset",
            Detail("'%(name)s' is public: anyone may read it for free.", name=dataset.name),
        )
    if isinstance(price, bool) or not isinstance(price, int) or not 0 < price <= UINT256_MAX:
        raise RightsRefused(
            "bad_price",
            Detail("price must be a whole number of the token's smallest unit, above 0."),
        )
    address = payment_address or dataset.dao.reward_contract_address
    if not address:
        raise RightsRefused(
            "no_payment_address",
            Detail("This DAO has no reward distributor: name the address consumers pay to."),
        )
    if not isinstance(address, str) or not is_address(address):
        raise RightsRefused("bad_payment_address", Detail("payment_address must be an address."))
    offer, _ = DatasetOffer.objects.update_or_create(
        dataset=dataset,
        defaults={
            "price": Decimal(price),
            "payment_address": to_checksum_address(address),
            "updated_by": actor,
            "updated_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="dataset.price_set",
        obj=offer,
        details={"dataset": dataset.pk, "price": str(price), "pay_to": offer.payment_address},
    )
    return offer


# --- purchases --------------------------------------------------------------------------------


@transaction.atomic
def purchase_request(*, dataset: Dataset, consumer: User, tx_hash: Any) -> Purchase:
    """Record that ``consumer`` paid for ``dataset`` in transaction ``tx_hash``, pending an
    admin's confirmation. Refuses a dataset that is not for sale (public or unpriced: 404,
    as no dataset), a hash that is no hash (400), and a hash already used by any purchase
    (409). Not for sale is checked first, so that no answer tells an unpriced
    members-only dataset from a missing one."""
    offer = DatasetOffer.objects.filter(dataset=dataset).first()
    if dataset.visibility == Visibility.PUBLIC or offer is None:
        # Answered as no dataset at all: a members-only dataset nobody priced stays unknown.
        raise RightsRefused(
            "not_for_sale",
            Detail("There is no dataset %(pk)s for sale.", pk=dataset.pk),
            status_code=404,
        )
    tx = _tx_hash(tx_hash)
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                dataset=dataset,
                consumer=consumer,
                amount=offer.price,
                payment_address=offer.payment_address,
                tx_hash=tx,
            )
    except IntegrityError:
        raise RightsRefused(
            "tx_hash_used", Detail("This transaction already paid for a purchase."), status_code=409
        ) from None
    audit_record(
        actor=consumer,
        dao=dataset.dao,
        verb="purchase.requested",
        obj=purchase,
        details={"dataset": dataset.pk, "tx_hash": tx, "amount": str(offer.price)},
    )
    return purchase


@transaction.atomic
def purchase_confirm(*, purchase: Purchase, actor: User, tx_hash: Any) -> Purchase:
    """An admin's word that ``tx_hash`` paid the purchase's amount to its address (checked by
    hand on chain until a chain reader does it). The admin types the hash they checked: it
    must be the purchase's. Audited; a purchase is confirmed once."""
    purchase = (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("dataset__dao")
        .get(pk=purchase.pk)
    )
    _require_manager(actor, purchase.dataset.dao_id, Detail("confirm a payment"))
    tx = _tx_hash(tx_hash)
    if purchase.status != PurchaseStatus.PENDING:
        raise RightsRefused(
            "not_pending",
            Detail("This purchase is already %(status)s.", status=purchase.status),
            status_code=409,
        )
    if tx != purchase.tx_hash:
        raise RightsRefused(
            "tx_hash_mismatch", Detail("That is not the transaction this purchase was paid with.")
        )
    purchase.status = PurchaseStatus.CONFIRMED
    purchase.confirmed_at = timezone.now()
    purchase.confirmed_by = actor
    purchase.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    royalties = _royalties(purchase, tx, actor)
    audit_record(
        actor=actor,
        dao=purchase.dataset.dao,
        verb="purchase.confirmed",
        obj=purchase,
        details={
            "tx_hash": tx,
            "amount": str(purchase.amount),
            "pay_to": purchase.payment_address,
            "consumer": purchase.consumer.address,
            "by": "hand",
            "royalties": royalties,
        },
    )
    return purchase


def _royalties(purchase: Purchase, tx: str, actor: User) -> str:
    """Credit what the consumer paid to the contributors of the dataset's latest release, pro
    rata by accepted score, after the DAO's treasury share (``rewards.royalties``), into the
    next epoch. In the confirmation's transaction: both happen or neither. A dataset with no
    release (or none of whose contributions scored) pays no one: the DAO keeps it."""
    release = Release.objects.filter(dataset=purchase.dataset).order_by("-version").first()
    shares = release_share_sources(release) if release is not None else []
    if not shares:
        return "none: no released contribution to pay; the DAO keeps the payment"
    payment = royalty_distribute(
        dao=purchase.dataset.dao,
        dataset=purchase.dataset,
        payment_key=tx,
        amount=int(purchase.amount),
        shares=shares,
        release_cid=release.cid,
        actor=actor,
    )
    return f"royalty payment {payment.pk} over release v{release.version}"


# --- grants -----------------------------------------------------------------------------------


def _grant_target(dao: DAO, grant: grant712.Grant) -> tuple[Dataset, Release | None]:
    datasets = {
        dataset_id_bytes32(pk): pk
        for pk in Dataset.objects.filter(dao=dao).values_list("pk", flat=True)
    }
    dataset_pk = datasets.get(grant.dataset_id)
    if dataset_pk is None:
        raise RightsRefused("unknown_dataset", Detail("The grant names no dataset of this DAO."))
    dataset = Dataset.objects.get(pk=dataset_pk)
    if not grant.release_cid:
        return dataset, None
    release = Release.objects.filter(dataset=dataset, cid=grant.release_cid).first()
    if release is None:
        raise RightsRefused(
            "unknown_release", Detail("The grant names no release of that dataset.")
        )
    return dataset, release


@transaction.atomic
def grant_record(
    *,
    dao: DAO,
    typed_data: Any,
    signature: Any,
    actor: User,
    purchase_id: int | None = None,
    now: datetime | None = None,
) -> AccessGrant:
    """Store a signed ``AccessGrant`` after checking everything that makes it valid: its
    form, this DAO's chain and daoId, a signer who is a creator or admin of this DAO now, an
    expiry in the future, a target of this DAO, and (for a paid grant) a confirmed purchase
    of the same dataset by the grantee. The nonce and the signature are stored once (409 on
    a replay). Who submits it does not matter; the signature carries the authority."""
    now = now or timezone.now()
    parsed = grant712.parse(typed_data, chain_id=dao.chain_id, dao_id=dao.onchain_id)
    canonical, sig, signer = grant712.recover(parsed, signature, chain_id=dao.chain_id)
    if not selectors.is_manager_address(address=signer, dao_id=dao.pk):
        raise RightsRefused(
            "signer_not_admin",
            Detail(
                "The grant was signed by %(signer)s, who is no creator or admin of this DAO.",
                signer=signer,
            ),
            status_code=403,
        )
    if parsed.expires_at <= int(now.timestamp()):
        raise RightsRefused("grant_expired", Detail("The grant has already expired."))
    try:
        expires_at = datetime.fromtimestamp(parsed.expires_at, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise RightsRefused(
            "bad_typed_data", Detail("message.expiresAt is too far ahead.")
        ) from None
    dataset, release = _grant_target(dao, parsed)
    purchase = _paid_purchase(purchase_id, dataset, parsed.grantee)
    try:
        with transaction.atomic():
            grant = AccessGrant.objects.create(
                dao=dao,
                grantee=parsed.grantee,
                dataset=dataset,
                release=release,
                scope=parsed.scope,
                expires_at=expires_at,
                nonce=Decimal(parsed.nonce),
                typed_data=canonical,
                signature=sig,
                signer=signer,
                purchase=purchase,
                created_by=actor,
                created_at=now,
            )
    except IntegrityError:
        raise RightsRefused(
            "nonce_used",
            Detail(
                "This DAO already issued a grant with this nonce (or this "
                "very signature): a grant is recorded once."
            ),
            status_code=409,
        ) from None
    audit_record(
        actor=actor,
        dao=dao,
        verb="grant.issued",
        obj=grant,
        details={
            "grantee": grant.grantee,
            "signer": signer,
            "dataset": dataset.pk,
            "release": release.cid if release else None,
            "scope": grant.scope,
            "expires_at": parsed.expires_at,
            "purchase": purchase.pk if purchase else None,
        },
    )
    return grant


def _paid_purchase(purchase_id: int | None, dataset: Dataset, grantee: str) -> Purchase | None:
    if purchase_id is None:
        return None
    purchase = (
        Purchase.objects.select_for_update().select_related("consumer").filter(pk=purchase_id)
    ).first()
    if purchase is None or purchase.dataset_id != dataset.pk:
        raise RightsRefused("unknown_purchase", Detail("No purchase of this dataset has that id."))
    if purchase.status != PurchaseStatus.CONFIRMED:
        raise RightsRefused("payment_unconfirmed", Detail("Confirm the payment before granting."))
    if purchase.consumer.address != grantee:
        raise RightsRefused("wrong_grantee", Detail("The grant must name the consumer who paid."))
    if AccessGrant.objects.filter(purchase=purchase).exists():
        raise RightsRefused(
            "already_granted", Detail("This purchase has its grant."), status_code=409
        )
    return purchase


@transaction.atomic
def grant_revoke(*, grant: AccessGrant, actor: User) -> AccessGrant:
    """Revoke a grant at once: every read checks the row, so the next request is refused."""
    grant = AccessGrant.objects.select_for_update().get(pk=grant.pk)
    _require_manager(actor, grant.dao_id, Detail("revoke a grant"))
    if grant.revoked_at is not None:
        raise RightsRefused(
            "already_revoked", Detail("This grant is already revoked."), status_code=409
        )
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        dao=grant.dao,
        verb="grant.revoked",
        obj=grant,
        details={"grantee": grant.grantee, "nonce": str(grant.nonce)},
    )
    return grant


# --- the read log ------------------------------------------------------------------------------


def read_record(user: Any, label: str, cid: str) -> None:
    """``ipfs.reads`` recorder: log a read of a contribution's or a release's content, with
    the reader and the basis they read on (membership first, then a grant). One INSERT after
    at most three small reads; raising refuses the read (see ``ipfs.reads``)."""
    target = selectors.label_target(label)
    if target is None:
        return
    # A public dataset's read is logged without a reader: asking who it is would touch the
    # session and make the response vary by cookie, so no shared cache could keep it (and a
    # cache serves most reads of public content without this site ever seeing them).
    public = target.visibility == Visibility.PUBLIC
    reader = None
    if not public and user is not None and user.is_authenticated:
        reader = user
    basis, grant = ReadBasis.PUBLIC, None
    if reader is not None:
        if Membership.objects.filter(user=reader, dao_id=target.dao_id).exists():
            basis = ReadBasis.MEMBERSHIP
        else:
            grant = selectors.grant_covering(user=reader, target=target)
            if grant is not None:
                basis = ReadBasis.GRANT
            elif reader.is_superuser:
                basis = ReadBasis.STAFF
    ReadEvent.objects.create(
        dao_id=target.dao_id,
        dataset_id=target.dataset_id,
        contribution_id=target.contribution_id,
        release_id=target.release_id,
        cid=cid,
        reader=reader,
        basis=basis,
        grant=grant,
    )
