"""Pins and pin-audit runs: operators' view (staff), read-only."""

from __future__ import annotations

from django.contrib import admin

from datadao.admin import ReadOnlyAdminMixin
from ipfs.models import Pin, PinAuditRun


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(Pin)
class PinAdmin(ReadOnlyAdmin):
    list_display = ("cid", "label", "size", "status", "last_checked_at", "backend")
    list_filter = ("status", "backend")
    search_fields = ("cid", "label")


@admin.register(PinAuditRun)
class PinAuditRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "backend", "checked", "missing", "unreachable", "finished_at")
