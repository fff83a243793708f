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

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="webhook_endpoints", verbose_name=_("DAO")
    )
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    events = models.JSONField(
        default=list, help_text=_("The event types sent to this URL."), verbose_name=_("events")
    )
    sealed_secret = models.CharField(
        max_length=200, editable=False, verbose_name=_("sealed secret")
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    consecutive_failures = models.PositiveIntegerField(
        default=0, verbose_name=_("consecutive failures")
    )
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("failing since"))
    disabled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("disabled at"))
    disabled_reason = models.CharField(
        max_length=500, blank=True, verbose_name=_("disabled reason")
    )
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
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

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+", verbose_name=_("DAO"))
    type = models.CharField(max_length=64, verbose_name=_("type"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

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
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    # Sent as X-Datadao-Delivery: receivers deduplicate by it (delivery is at least once).
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("key"))
    status = models.CharField(
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    redeliveries = models.PositiveIntegerField(default=0, verbose_name=_("redeliveries"))
    # When the next attempt is due; while an attempt is under way, when it is given up for lost.
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("response status")
    )
    response_excerpt = models.CharField(
        max_length=1024, blank=True, verbose_name=_("response excerpt")
    )
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("succeeded at"))

    class Meta:
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
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
