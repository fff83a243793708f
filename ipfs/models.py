"""What this platform has pinned, and what the pin audit found."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PinStatus(models.TextChoices):
    UNCHECKED = "unchecked", "Not checked yet"
    OK = "ok", "Present and verified"
    MISSING = "missing", "Missing or corrupt"


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

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PinStatus.values), name="pin_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.cid


class PinAuditRun(models.Model):
    """One run of the periodic pin audit over a sample of pins."""

    backend = models.CharField(max_length=16)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    unreachable = models.BooleanField(
        default=False, help_text="The backend could not be reached: nothing was concluded."
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return (
            f"audit {self.started_at:%Y-%m-%d %H:%M} {self.checked} checked, {self.missing} missing"
        )
