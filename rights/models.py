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

    dataset = models.OneToOneField(
        Dataset, on_delete=models.PROTECT, related_name="offer", verbose_name=_("dataset")
    )
    price = models.DecimalField(
        **UINT, help_text=_("In the token's smallest unit."), verbose_name=_("price")
    )
    payment_address = models.CharField(
        max_length=42, validators=[validate_checksum_address], verbose_name=_("payment address")
    )
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("updated by")
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_pos"),
            models.CheckConstraint(
                condition=models.Q(payment_address__regex=ADDRESS_REGEX),
                name="offer_payment_address_format",
            ),
        ]
        verbose_name = _("dataset offer")
        verbose_name_plural = _("dataset offers")

    def __str__(self) -> str:
        return f"{self.dataset} for {self.price}"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an admin to confirm the payment")
    CONFIRMED = "confirmed", _("Payment confirmed")


class Purchase(models.Model):
    """A consumer's request for paid access, with the transaction that paid for it. A
    transaction pays for one purchase only: its hash is unique."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("dataset")
    )
    consumer = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("consumer")
    )
    amount = models.DecimalField(
        **UINT, help_text=_("The price when asked, smallest unit."), verbose_name=_("amount")
    )
    payment_address = models.CharField(max_length=42, verbose_name=_("payment address"))
    tx_hash = models.CharField(max_length=66, unique=True, verbose_name=_("tx hash"))
    status = models.CharField(
        max_length=16,
        choices=PurchaseStatus.choices,
        default=PurchaseStatus.PENDING,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    confirmed_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
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
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")

    def __str__(self) -> str:
        return f"{self.consumer} buys {self.dataset} ({self.status})"


class AccessGrant(models.Model):
    """An admin-signed EIP-712 ``AccessGrant`` (``rights.grant712``), kept as signed. It lets
    ``grantee`` read the dataset (every release), or one release when ``release`` is set,
    until ``expires_at``, unless revoked; every check reads this row."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="access_grants", verbose_name=_("DAO")
    )
    grantee = models.CharField(max_length=42, db_index=True, verbose_name=_("grantee"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="access_grants", verbose_name=_("dataset")
    )
    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_grants",
        verbose_name=_("release"),
    )
    scope = models.CharField(max_length=16, choices=Scope.choices, verbose_name=_("scope"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    nonce = models.DecimalField(**UINT, verbose_name=_("nonce"))
    typed_data = models.JSONField(verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, unique=True, verbose_name=_("signature"))
    signer = models.CharField(max_length=42, verbose_name=_("signer"))
    purchase = models.OneToOneField(
        Purchase,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grant",
        verbose_name=_("purchase"),
    )
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revoked by"),
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
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")

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

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+", verbose_name=_("DAO"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contribution"),
    )
    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("release"),
    )
    cid = models.CharField(max_length=128, verbose_name=_("CID"))
    reader = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reader"),
    )
    basis = models.CharField(max_length=16, choices=ReadBasis.choices, verbose_name=_("basis"))
    grant = models.ForeignKey(
        AccessGrant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reads",
        verbose_name=_("grant"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("read event")
        verbose_name_plural = _("read events")

    def __str__(self) -> str:
        return f"{self.reader or 'anyone'} read {self.cid} ({self.basis})"
