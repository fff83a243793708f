"""Data rights: prices of datasets, consumers' purchases, signed access grants, the read log.

Fields, choices and constraints only; writes go through ``rights.services``. Money is an
integer in the token's smallest unit, NUMERIC(78,0) (a uint256 fits), never a float.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import Contribution, Release
from datadao.models import ADDRESS_REGEX, DAO, Dataset, User, validate_checksum_address

TX_HASH_REGEX = r"^0x[0-9a-f]{64}$"
UINT = {"max_digits": 78, "decimal_places": 0}


class Scope(models.TextChoices):
    DOWNLOAD = "download", _("Download")
    QUERY = "query", _("Query only (no download)")


class DatasetOffer(models.Model):
    """A members-only dataset for sale: its price in the DAO's token and where to pay it."""

    dataset = models.OneToOneField(Dataset, on_delete=models.PROTECT, related_name="offer")
    price = models.DecimalField(**UINT, help_text="In the token's smallest unit.")
    payment_address = models.CharField(max_length=42, validators=[validate_checksum_address])
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_pos"),
            models.CheckConstraint(
                condition=models.Q(payment_address__regex=ADDRESS_REGEX),
                name="offer_payment_address_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} for {self.price}"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an admin to confirm the payment")
    CONFIRMED = "confirmed", _("Payment confirmed")


class Purchase(models.Model):
    """A consumer's request for paid access, with the transaction that paid for it. A
    transaction pays for one purchase only: its hash is unique."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="purchases")
    consumer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="purchases")
    amount = models.DecimalField(**UINT, help_text="The price when asked, smallest unit.")
    payment_address = models.CharField(max_length=42)
    tx_hash = models.CharField(max_length=66, unique=True)
    status = models.CharField(
        max_length=16, choices=PurchaseStatus.choices, default=PurchaseStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tx_hash__regex=TX_HASH_REGEX), name="purchase_tx_hash_format"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="purchase_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(status__in=PurchaseStatus.values), name="purchase_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", confirmed_at__isnull=True)
                | models.Q(status="confirmed", confirmed_at__isnull=False),
                name="purchase_confirmed_iff_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} buys {self.dataset} ({self.status})"


class AccessGrant(models.Model):
    """An admin-signed EIP-712 ``AccessGrant`` (``rights.grant712``), kept as signed. It lets
    ``grantee`` read the dataset (every release), or one release when ``release`` is set,
    until ``expires_at``, unless revoked; every check reads this row."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="access_grants")
    grantee = models.CharField(max_length=42, db_index=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="access_grants")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="access_grants"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices)
    expires_at = models.DateTimeField()
    nonce = models.DecimalField(**UINT)
    typed_data = models.JSONField()
    signature = models.CharField(max_length=132, unique=True)
    signer = models.CharField(max_length=42)
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A nonce is used once per DAO: a replayed grant (same signature or the same
            # nonce re-signed) is refused by the database, whatever path stores it.
            models.UniqueConstraint(fields=["dao", "nonce"], name="accessgrant_nonce_unique"),
            models.CheckConstraint(
                condition=models.Q(scope__in=Scope.values), name="accessgrant_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(grantee__regex=ADDRESS_REGEX), name="accessgrant_grantee"
            ),
            models.CheckConstraint(
                condition=models.Q(signer__regex=ADDRESS_REGEX), name="accessgrant_signer"
            ),
            models.CheckConstraint(
                condition=models.Q(nonce__gte=0), name="accessgrant_nonce_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | models.Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="accessgrant_revoked_with_actor",
            ),
        ]

    def __str__(self) -> str:
        target = self.release or self.dataset
        return f"{self.grantee} may {self.scope} {target}"


class ReadBasis(models.TextChoices):
    MEMBERSHIP = "membership", _("Member of the DAO")
    GRANT = "grant", _("Access grant")
    PUBLIC = "public", _("Public dataset")
    STAFF = "staff", _("Platform staff")


class ReadEvent(models.Model):
    """One read of a contribution's or a release's content through this site, written by one
    INSERT before the content is opened (``rights.services.read_record``)."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    contribution = models.ForeignKey(
        Contribution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cid = models.CharField(max_length=128)
    reader = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    basis = models.CharField(max_length=16, choices=ReadBasis.choices)
    grant = models.ForeignKey(
        AccessGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="reads"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["dao", "-created_at"], name="readevent_dao_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(basis__in=ReadBasis.values), name="readevent_basis_valid"
            ),
            # Exactly one of contribution and release is what was read.
            models.CheckConstraint(
                condition=models.Q(contribution__isnull=True, release__isnull=False)
                | models.Q(contribution__isnull=False, release__isnull=True),
                name="readevent_one_target",
            ),
            models.CheckConstraint(
                condition=models.Q(basis="grant", grant__isnull=False)
                | (~models.Q(basis="grant") & models.Q(grant__isnull=True)),
                name="readevent_grant_iff_basis",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader or 'anyone'} read {self.cid} ({self.basis})"
