"""Console pages for governance: a DAO's proposals and their votes, read-only (members propose
and vote with their wallets; the worker closes, publishes and executes)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin, short_hex
from governance.api import live_tally
from governance.models import Proposal, Vote


class VoteInline(admin.TabularInline):
    model = Vote
    fields = ("voter", "choice", "power", "timestamp", "reason", "signature_short", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vote]:
        return super().get_queryset(request).select_related("voter")

    @admin.display(description=_("signature"))
    def signature_short(self, obj: Vote) -> str:
        return short_hex(obj.signature)


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdminMixin, DaoScopedAdmin):
    list_display = ("id", "title", "dao", "kind", "status", "ends_at", "tally_short", "cid_short")
    list_filter = ("status", "kind")
    search_fields = ("title", "hash")
    list_select_related = ("dao",)
    inlines = (VoteInline,)
    fields = (
        "dao",
        "title",
        "description",
        "proposer",
        "kind",
        "change",
        "status",
        "failure",
        "quorum",
        "voting_power",
        "voting_token",
        "snapshot_block",
        "starts_at",
        "ends_at",
        "timelock_seconds",
        "tally_now",
        "closed_at",
        "cid",
        "executed_at",
        "hash",
        "document",
    )
    readonly_fields = (*fields,)

    @admin.display(description=_("tally"))
    def tally_short(self, obj: Proposal) -> str:
        tally = live_tally(obj)
        return f"{tally['for']} / {tally['against']} / {tally['abstain']}"

    @admin.display(description=_("tally (for, against, abstain; as the votes stand while open)"))
    def tally_now(self, obj: Proposal) -> str:
        return str(live_tally(obj))

    @admin.display(description=_("published"))
    def cid_short(self, obj: Proposal) -> str:
        return short_hex(obj.cid)
