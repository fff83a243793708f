"""Reads for webhooks: the notices a DAO's console page shows."""

from __future__ import annotations

from django.urls import reverse

from datadao.models import DAO
from datadao.notices import Notice
from webhooks.models import WebhookEndpoint


def dao_notices(dao: DAO) -> list[Notice]:
    """A notice per disabled endpoint of ``dao``, saying why and linking to it."""
    return [
        Notice(
            key=f"webhook-disabled-{endpoint.pk}",
            text=(
                f"Webhook endpoint {endpoint.url} was disabled on "
                f"{endpoint.disabled_at:%Y-%m-%d %H:%M} UTC: {endpoint.disabled_reason} "
                "Fix the receiver, enable the endpoint again, and redeliver what it missed."
            ),
            url=reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
            link_text="Open the endpoint",
        )
        for endpoint in WebhookEndpoint.objects.filter(dao=dao, enabled=False).order_by("pk")
    ]
