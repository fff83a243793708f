"""Webhook endpoints, the events recorded for them (the outbox) and their deliveries.

Models hold fields, choices and constraints only; writes go through ``webhooks.services``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datadao.models import DAO, User


class WebhookEndpoint(models.Model):
    """A URL of a DAO's that receives the events it subscribes to, signed with its own secret.

    The secret is stored sealed (AES-256-GCM under the platform's data key-encryption key,
    bound to the DAO, as a sealed file's data key is): the database alone never reveals it.
    The DAO's admin sees it once, when it is made or rotated."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent to this URL.")
    sealed_secret = models.CharField(max_length=200, editable=False)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["dao_id", "-created_at", "-id"]
        indexes = [models.Index(fields=["dao", "enabled"], name="webhook_endpoint_dao_enabled")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(enabled=True, disabled_at__isnull=True)
                | models.Q(enabled=False, disabled_at__isnull=False),
                name="webhook_endpoint_disabled_iff_not_enabled",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One state change as sent to the endpoints subscribed to it: written in the transaction
    that made the change, so it exists exactly when the change committed. Its body is fixed
    here: every delivery and redelivery sends the same bytes."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (retries used up)")
    DISABLED = "disabled", _("Not sent: endpoint disabled")


class WebhookDelivery(models.Model):
    """One event to one endpoint, tried until it succeeds or its retries are used up."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Sent as X-Datadao-Delivery: receivers deduplicate by it (delivery is at least once).
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    redeliveries = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt is under way, when it is given up for lost.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            # The delivery log, newest first, a page at a time: walked in this order, never
            # sorted whole.
            models.Index(fields=["-created_at", "-id"], name="webhook_delivery_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_delivery_endpoint_event_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="webhook_delivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
