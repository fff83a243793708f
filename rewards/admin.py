"""Console pages for rewards: policies, epochs (simulate, close), allocations, vouchers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin
from rewards import services
from rewards.models import Allocation, Epoch, RewardEntry, RewardPolicy, Voucher


class ReadOnly(ReadOnlyAdminMixin, DaoScopedAdmin):
    pass


@admin.register(RewardPolicy)
class RewardPolicyAdmin(DaoScopedAdmin):
    """The reward policy editor: amounts are whole numbers of the token's smallest unit."""

    dao_lookup = "dataset__dao_id"
    list_display = ("dataset", "per_contribution", "per_label", "epoch_budget", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "dataset" and not self._global(request, "change"):
            from datadao.models import Dataset

            kwargs["queryset"] = Dataset.objects.filter(dao_id__in=self._dao_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AllocationInline(admin.TabularInline):
    model = Allocation
    fields = ("account", "amount", "tree_index")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = False


@admin.register(Epoch)
class EpochAdmin(ReadOnly):
    list_display = ("dao", "number", "status", "total", "root", "dump_cid", "closed_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in Epoch._meta.fields]
    inlines = [AllocationInline]
    actions = ("simulate_close", "close_epochs")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    @admin.action(description="Simulate close (show what each address would get)")
    def simulate_close(self, request: HttpRequest, queryset: QuerySet[Epoch]) -> None:
        for epoch in queryset.filter(status="open").select_related("dao"):
            allocations = services.epoch_simulate(dao=epoch.dao)
            if not allocations:
                self.message_user(request, f"{epoch}: nothing to allocate yet.", messages.INFO)
                continue
            lines = ", ".join(f"{a}: {v}" for a, v in list(allocations.items())[:20])
            more = f" (+{len(allocations) - 20} more)" if len(allocations) > 20 else ""
            total = sum(allocations.values())
            self.message_user(request, f"{epoch}: total {total}; {lines}{more}", messages.INFO)

    @admin.action(description="Close epoch (settle, sign the Merkle root, pin the dump)")
    def close_epochs(self, request: HttpRequest, queryset: QuerySet[Epoch]) -> None:
        for epoch in queryset.filter(status="open").select_related("dao"):
            try:
                closed = services.epoch_close(
                    dao=epoch.dao, actor=request.user, number=epoch.number
                )
            except (services.RewardsError, ImproperlyConfigured) as exc:
                self.message_user(request, f"{epoch}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{closed}: closed, total {closed.total}, root {closed.root}, "
                f"dump {closed.dump_cid}",
                messages.SUCCESS,
            )


@admin.register(RewardEntry)
class RewardEntryAdmin(ReadOnly):
    list_display = ("account", "amount", "reason", "dataset", "epoch", "created_at")
    list_filter = ("reason",)
    list_select_related = ("account", "dataset", "epoch")


@admin.register(Voucher)
class VoucherAdmin(ReadOnly):
    list_display = ("contributor", "amount", "nonce", "deadline", "dao", "created_at")
    search_fields = ("contributor",)
