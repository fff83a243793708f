"""What this platform has pinned, and what the pin audit found."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PinStatus(models.TextChoices):
    UNCHECKED = "unchecked", _("Not checked yet")
    OK = "ok", _("Present and verified")
    MISSING = "missing", _("Missing or corrupt")


class Pin(models.Model):
    """One pinned root CID. Unique: pinning the same content twice is one record."""

    cid = models.CharField(max_length=128, unique=True, verbose_name=_("CID"))
    size = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("File bytes."), verbose_name=_("size")
    )
    content_type = models.CharField(
        max_length=100, default="application/octet-stream", verbose_name=_("content type")
    )
    label = models.CharField(
        max_length=200, blank=True, help_text=_("What the content is."), verbose_name=_("label")
    )
    backend = models.CharField(max_length=16, verbose_name=_("backend"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    status = models.CharField(
        max_length=16,
        choices=PinStatus.choices,
        default=PinStatus.UNCHECKED,
        verbose_name=_("status"),
    )
    last_checked_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("last checked at")
    )
    problem = models.TextField(blank=True, verbose_name=_("problem"))
    replication = models.PositiveSmallIntegerField(
        default=1,
        help_text=_(
            "Copies wanted: this backend's plus replicas on IPFS_REPLICAS targets (the highest "
            "replication factor of the DAOs that pinned it)."
        ),
        verbose_name=_("replication"),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PinStatus.values), name="pin_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(replication__gte=1), name="pin_replication_positive"
            ),
        ]
        verbose_name = _("pin")
        verbose_name_plural = _("pins")

    def __str__(self) -> str:
        return self.cid


class ReplicaStatus(models.TextChoices):
    PENDING = "pending", _("Wanted, not made yet")
    PINNING = "pinning", _("Asked of a pinning service, still fetching")
    OK = "ok", _("Present and verified")
    MISSING = "missing", _("Missing or corrupt")


class PinReplica(models.Model):
    """A copy of a pin on one of the ``IPFS_REPLICAS`` targets (the pin's own row stands for
    the copy on the configured backend, where the content was added)."""

    pin = models.ForeignKey(
        Pin, on_delete=models.CASCADE, related_name="replicas", verbose_name=_("pin")
    )
    target = models.CharField(
        max_length=32, help_text=_("The IPFS_REPLICAS entry's name."), verbose_name=_("target")
    )
    status = models.CharField(
        max_length=16,
        choices=ReplicaStatus.choices,
        default=ReplicaStatus.PENDING,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    changed_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("changed at")
    )
    last_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the audit last retrieved and hashed its blocks."),
        verbose_name=_("last checked at"),
    )
    problem = models.TextField(blank=True, verbose_name=_("problem"))

    class Meta:
        ordering = ["pin_id", "target"]
        constraints = [
            models.UniqueConstraint(fields=["pin", "target"], name="pinreplica_one_per_target"),
            models.CheckConstraint(
                condition=models.Q(status__in=ReplicaStatus.values),
                name="pinreplica_status_valid",
            ),
        ]
        verbose_name = _("pin replica")
        verbose_name_plural = _("pin replicas")

    def __str__(self) -> str:
        return f"{self.pin_id}@{self.target}"


class PinAuditRun(models.Model):
    """One run of the periodic pin audit over a sample of pins."""

    backend = models.CharField(max_length=16, verbose_name=_("backend"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    checked = models.PositiveIntegerField(default=0, verbose_name=_("checked"))
    missing = models.PositiveIntegerField(
        default=0,
        help_text=_("Copies found missing or corrupt (the backend's and replicas)."),
        verbose_name=_("missing"),
    )
    repaired = models.PositiveIntegerField(
        default=0,
        help_text=_("Copies made again from a healthy replica."),
        verbose_name=_("repaired"),
    )
    unreachable = models.BooleanField(
        default=False,
        help_text=_(
            "A backend or replica target could not be reached: its copies were not judged."
        ),
        verbose_name=_("unreachable"),
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("pin audit run")
        verbose_name_plural = _("pin audit runs")

    def __str__(self) -> str:
        return (
            f"audit {self.started_at:%Y-%m-%d %H:%M} {self.checked} checked, {self.missing} missing"
        )
