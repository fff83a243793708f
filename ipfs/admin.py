"""Pins and pin-audit runs: operators' view (staff), read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ipfs.models import Pin, PinAuditRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pin)
class PinAdmin(ReadOnlyAdmin):
    list_display = ("cid", "label", "size", "status", "last_checked_at", "backend")
    list_filter = ("status", "backend")
    search_fields = ("cid", "label")


@admin.register(PinAuditRun)
class PinAuditRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "backend", "checked", "missing", "unreachable", "finished_at")
