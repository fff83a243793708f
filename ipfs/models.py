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

    cid = models.CharField(max_length=128, unique=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="File bytes.")
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    label = models.CharField(max_length=200, blank=True, help_text="What the content is.")
    backend = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=PinStatus.choices, default=PinStatus.UNCHECKED)
    last_checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    problem = models.TextField(blank=True)
    replication = models.PositiveSmallIntegerField(
        default=1,
        help_text=(
            "Copies wanted: this backend's plus replicas on IPFS_REPLICAS targets (the highest "
            "replication factor of the DAOs that pinned it)."
        ),
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

    pin = models.ForeignKey(Pin, on_delete=models.CASCADE, related_name="replicas")
    target = models.CharField(max_length=32, help_text="The IPFS_REPLICAS entry's name.")
    status = models.CharField(
        max_length=16, choices=ReplicaStatus.choices, default=ReplicaStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the audit last retrieved and hashed its blocks."
    )
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["pin_id", "target"]
        constraints = [
            models.UniqueConstraint(fields=["pin", "target"], name="pinreplica_one_per_target"),
            models.CheckConstraint(
                condition=models.Q(status__in=ReplicaStatus.values),
                name="pinreplica_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pin_id}@{self.target}"


class PinAuditRun(models.Model):
    """One run of the periodic pin audit over a sample of pins."""

    backend = models.CharField(max_length=16)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(
        default=0, help_text="Copies found missing or corrupt (the backend's and replicas)."
    )
    repaired = models.PositiveIntegerField(
        default=0, help_text="Copies made again from a healthy replica."
    )
    unreachable = models.BooleanField(
        default=False,
        help_text="A backend or replica target could not be reached: its copies were not judged.",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return (
            f"audit {self.started_at:%Y-%m-%d %H:%M} {self.checked} checked, {self.missing} missing"
        )
