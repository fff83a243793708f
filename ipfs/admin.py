"""Pins and pin-audit runs: operators' view (staff), read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from datadao.admin import ReadOnlyAdminMixin
from ipfs.models import Pin, PinAuditRun, PinReplica, ReplicaStatus


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class PinReplicaInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PinReplica
    fields = ("target", "status", "last_checked_at", "changed_at", "problem")
    readonly_fields = fields
    extra = 0
    verbose_name = _("replica")
    verbose_name_plural = _("Replicas beyond the backend's copy")


@admin.register(Pin)
class PinAdmin(ReadOnlyAdmin):
    list_display = (
        "cid",
        "label",
        "size",
        "status",
        "replica_summary",
        "last_checked_at",
        "backend",
    )
    list_filter = ("status", "backend", "replication")
    search_fields = ("cid", "label")
    inlines = (PinReplicaInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pin]:
        return super().get_queryset(request).prefetch_related("replicas")

    @admin.display(description=_("copies (good/wanted)"))
    def replica_summary(self, pin: Pin) -> str:
        """``2/2 · kubo ok, b ok``: whole copies over copies wanted, then each copy's state
        (the backend's first, as the audit last found it)."""
        states = [f"{pin.backend} {'missing' if pin.status == 'missing' else pin.status}"]
        good = int(pin.status != "missing")
        for replica in pin.replicas.all():
            states.append(f"{replica.target} {replica.status}")
            good += replica.status == ReplicaStatus.OK
        return f"{good}/{pin.replication} · " + ", ".join(states)


@admin.register(PinAuditRun)
class PinAuditRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "backend",
        "checked",
        "missing",
        "repaired",
        "unreachable",
        "finished_at",
    )
