"""Console pages for rewards: policies, epochs (simulate, close), allocations, vouchers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin, short_hex
from datadao.admin_base import CappedCountAdmin
from datadao.errors import ApplicationError
from datadao.governed import ChangeKind, reserved_refusal
from datadao.http import localized
from datadao.models import DAO
from rewards import allocations, services
from rewards.models import Allocation, Epoch, EpochStatus, RewardEntry, RewardPolicy, Voucher
from rewards.policies import reward_policy_set
from rewards.selectors import dao_settlement
from rewards.units import format_amount, format_units, parse_units

_AMOUNT_FIELDS = ("per_contribution", "per_row", "per_label", "epoch_budget")


def _refusal(exc: Exception) -> str:
    """A service's refusal in the console's language; any other error as it reads."""
    return localized(exc.message) if isinstance(exc, ApplicationError) else str(exc)


def _tokens(amount: Any, dao: Any) -> str:
    return (
        "" if amount is None else format_amount(int(amount), dao.token_decimals, dao.token_symbol)
    )


class RewardPolicyForm(forms.ModelForm):
    """Amounts are typed in whole tokens ("5", "0.25") and stored as integer base units.

    The token (and so its decimals) is the chosen dataset's DAO's, known only once the dataset
    field is clean: the amounts are converted in ``clean``.
    """

    per_contribution = forms.CharField(
        initial="0",
        help_text=_(
            "Tokens paid for a contribution scoring 10000 (scaled by its score), e.g. 5 or 0.25."
        ),
    )
    per_row = forms.CharField(
        initial="0",
        required=False,
        help_text=_(
            "Tabular datasets: tokens paid per new row at a score of 10000 (scaled by the "
            "score). Pays the same however a contributor splits rows into files."
        ),
    )
    per_label = forms.CharField(initial="0", help_text=_("Tokens paid per settled label."))
    epoch_budget = forms.CharField(
        required=False,
        help_text=_(
            "At most this many tokens per epoch; above it allocations scale pro rata "
            "(empty: no cap)."
        ),
    )

    class Meta:
        model = RewardPolicy
        fields = ["dataset", "per_contribution", "per_row", "per_label", "epoch_budget"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dao = self._dao()
        if self.instance.pk is not None and dao is not None:
            for name in _AMOUNT_FIELDS:
                value = getattr(self.instance, name)
                self.initial[name] = (
                    "" if value is None else format_units(int(value), dao.token_decimals)
                )
        if dao is not None:
            for name in _AMOUNT_FIELDS:
                self.fields[name].label = (
                    f"{capfirst(RewardPolicy._meta.get_field(name).verbose_name)} "
                    f"({dao.token_symbol})"
                )

    def _dao(self) -> Any:
        dataset = self.cleaned_data.get("dataset") if hasattr(self, "cleaned_data") else None
        if dataset is None and self.instance.dataset_id is not None:
            dataset = self.instance.dataset
        return None if dataset is None else dataset.dao

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        dao = self._dao()
        if dao is None:
            return cleaned
        refusal = reserved_refusal(dao, ChangeKind.REWARD_POLICY)
        if refusal is not None:
            # The service refuses it too; here the refusal is shown on the page.
            self.add_error(None, refusal)
            return cleaned
        for name in _AMOUNT_FIELDS:
            text = cleaned.get(name)
            if text is None:
                continue  # the field itself was refused (e.g. required and empty)
            if name == "epoch_budget" and not text.strip():
                cleaned[name] = None
                continue
            if name == "per_row" and not text.strip():
                cleaned[name] = 0  # empty: no pay per row
                continue
            try:
                cleaned[name] = parse_units(text, dao.token_decimals)
            except ValueError as exc:
                self.add_error(
                    name,
                    _("%(problem)s (%(symbol)s has %(decimals)s decimals.)")
                    % {
                        "problem": localized(exc.args[0]),
                        "symbol": dao.token_symbol,
                        "decimals": dao.token_decimals,
                    },
                )
        return cleaned


class ReadOnly(ReadOnlyAdminMixin, DaoScopedAdmin):
    pass


@admin.register(RewardPolicy)
class RewardPolicyAdmin(DaoScopedAdmin):
    """The reward policy editor: amounts in tokens, stored in the token's smallest unit."""

    dao_lookup = "dataset__dao_id"
    form = RewardPolicyForm
    list_display = (
        "dataset",
        "per_contribution_tokens",
        "per_row_tokens",
        "per_label_tokens",
        "budget_tokens",
        "updated_at",
    )
    list_select_related = ("dataset__dao",)

    @admin.display(description=_("per contribution"))
    def per_contribution_tokens(self, obj: RewardPolicy) -> str:
        return _tokens(obj.per_contribution, obj.dataset.dao)

    @admin.display(description=_("per new row"))
    def per_row_tokens(self, obj: RewardPolicy) -> str:
        return _tokens(obj.per_row, obj.dataset.dao)

    @admin.display(description=_("per label"))
    def per_label_tokens(self, obj: RewardPolicy) -> str:
        return _tokens(obj.per_label, obj.dataset.dao)

    @admin.display(description=_("epoch budget"))
    def budget_tokens(self, obj: RewardPolicy) -> str:
        return _tokens(obj.epoch_budget, obj.dataset.dao) or _("no cap")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RewardPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        amounts = {name: form.cleaned_data[name] for name in _AMOUNT_FIELDS}
        saved = reward_policy_set(dataset=obj.dataset, actor=request.user, **amounts)
        obj.pk = saved.pk

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "dataset" and not self._global(request, "change"):
            from datadao.models import Dataset

            kwargs["queryset"] = Dataset.objects.filter(dao_id__in=self._dao_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AllocationInline(admin.TabularInline):
    model = Allocation
    fields = ("account", "amount_tokens", "tree_index")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Allocation]:
        return super().get_queryset(request).select_related("epoch__dao")

    @admin.display(description=_("amount"))
    def amount_tokens(self, obj: Allocation) -> str:
        return _tokens(obj.amount, obj.epoch.dao)


@admin.register(Epoch)
class EpochAdmin(ReadOnly):
    list_display = (
        "dao",
        "number",
        "status",
        "total_tokens",
        "close_page",
        "root_short",
        "dump_short",
        "closed_at",
    )
    list_filter = ("status",)
    list_select_related = ("dao",)

    @admin.display(description=_("total"))
    def total_tokens(self, obj: Epoch) -> str:
        # An open epoch's total is what its credits add up to so far (settled at close).
        if obj.status == EpochStatus.OPEN:
            return _("%(amount)s accrued so far") % {
                "amount": _tokens(services.epoch_accrued(dao=obj.dao), obj.dao)
            }
        return _tokens(obj.total, obj.dao)

    @admin.display(description=_("root"))
    def root_short(self, obj: Epoch) -> str:
        return short_hex(obj.root, 10, 6) if obj.root else "–"

    @admin.display(description=_("dump CID"))
    def dump_short(self, obj: Epoch) -> str:
        return short_hex(obj.dump_cid, 10, 6) if obj.dump_cid else "–"

    @admin.display(description=_("close"))
    def close_page(self, obj: Epoch) -> str:
        url = reverse("admin:rewards_epoch_close", args=[obj.pk])
        text = _("Review and close") if obj.status == EpochStatus.OPEN else _("Allocations")
        return format_html('<a href="{}">{}</a>', url, text)

    # The total in tokens; the tree dump keeps its integers (it is what the contract checks).
    readonly_fields = [
        "total_tokens" if f.name == "total" else f.name for f in Epoch._meta.fields
    ] + ["close_page"]
    inlines = [AllocationInline]
    actions = ("simulate_close", "close_epochs")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    # Above the epochs: per DAO with a reward contract, what closed epochs owe, what the chain
    # reader saw paid, and the contract's token balance, with a warning when it cannot cover
    # what is still owed.
    change_list_template = "admin/rewards/epoch/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        daos = DAO.objects.exclude(reward_contract_address="").order_by("name")
        if not request.user.is_superuser:
            daos = daos.filter(pk__in=self._dao_ids(request))
        rows = []
        for dao in daos[:50]:
            settlement = dao_settlement(dao=dao)
            rows.append(
                {
                    "dao": dao,
                    "owed": _tokens(settlement.owed, dao),
                    "paid": _tokens(settlement.paid, dao),
                    "outstanding": _tokens(settlement.outstanding, dao),
                    "balance": _tokens(settlement.balance, dao)
                    if settlement.balance is not None
                    else None,
                    "balance_block": settlement.balance_block,
                    "underfunded": settlement.underfunded,
                }
            )
        extra_context = {**(extra_context or {}), "settlements": rows}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[Any]:
        close = self.admin_site.admin_view(self.close_view)
        return [
            path("<int:object_id>/close/", close, name="rewards_epoch_close"),
            *super().get_urls(),
        ]

    def _may_close(self, request: HttpRequest, epoch: Epoch) -> bool:
        # Closing signs money: a DAO's creators and admins (or a superuser), as for releases.
        return request.user.is_superuser or epoch.dao_id in self._dao_ids(request)

    def close_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The epoch's close page: the allocations as a table, the EpochRoot that would be
        signed, and a confirmation that closes through ``services.epoch_close``."""
        epoch = get_object_or_404(self.get_queryset(request).select_related("dao"), pk=object_id)
        if not self.has_view_permission(request, epoch):
            raise PermissionDenied
        may_close = self._may_close(request, epoch)
        if request.method == "POST":
            if not may_close:
                raise PermissionDenied
            self._close(request, epoch)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": (
                _("%(epoch)s: review and close")
                if epoch.status == EpochStatus.OPEN
                else _("%(epoch)s: closed")
            )
            % {"epoch": epoch},
            "epoch": epoch,
            "dao": epoch.dao,
            "may_close": may_close and epoch.status == EpochStatus.OPEN,
        }
        if epoch.status == EpochStatus.OPEN:
            context["preview"] = services.epoch_preview(epoch=epoch)
        else:
            context["allocations"] = epoch.allocations.all()[:1000]
            context["allocation_count"] = epoch.allocations.count()
        return TemplateResponse(request, "admin/rewards/epoch_close.html", context)

    def _close(self, request: HttpRequest, epoch: Epoch) -> None:
        if request.POST.get("confirm") != "yes" or not request.POST.get("root"):
            self.message_user(
                request,
                _("Confirm the close with the button below the allocations."),
                messages.ERROR,
            )
            return
        if epoch.status != EpochStatus.OPEN:
            self.message_user(
                request,
                _("%(epoch)s is already closed (root %(root)s); it was not closed again.")
                % {"epoch": epoch, "root": epoch.root},
                messages.ERROR,
            )
            return
        started = timezone.now()
        try:
            closed = services.epoch_close(
                dao=epoch.dao,
                actor=request.user,
                number=epoch.number,
                expected_root=request.POST["root"],
            )
        except (services.RewardsError, ImproperlyConfigured) as exc:
            self.message_user(request, f"{epoch}: {_refusal(exc)}", messages.ERROR)
            return
        if closed.closed_at is not None and closed.closed_at < started:
            # Another closer got the lock first; the service returned their result unchanged.
            self.message_user(
                request,
                _(
                    "%(epoch)s was closed by someone else meanwhile (root %(root)s); it was "
                    "not closed again."
                )
                % {"epoch": epoch, "root": closed.root},
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                _("%(epoch)s: closed, total %(total)s, root %(root)s, dump %(dump)s")
                % {
                    "epoch": closed,
                    "total": _tokens(closed.total, epoch.dao),
                    "root": closed.root,
                    "dump": closed.dump_cid,
                },
                messages.SUCCESS,
            )

    @admin.action(description=_("Simulate close (show what each address would get)"))
    def simulate_close(self, request: HttpRequest, queryset: QuerySet[Epoch]) -> None:
        for epoch in queryset.filter(status="open").select_related("dao"):
            allocations = services.epoch_simulate(dao=epoch.dao)
            if not allocations:
                self.message_user(
                    request,
                    _("%(epoch)s: nothing to allocate yet.") % {"epoch": epoch},
                    messages.INFO,
                )
                continue
            dao = epoch.dao
            lines = ", ".join(f"{a}: {_tokens(v, dao)}" for a, v in list(allocations.items())[:20])
            more = (
                " " + _("(+%(count)s more)") % {"count": len(allocations) - 20}
                if len(allocations) > 20
                else ""
            )
            total = _tokens(sum(allocations.values()), dao)
            self.message_user(
                request,
                _("%(epoch)s: total %(total)s; %(lines)s")
                % {"epoch": epoch, "total": total, "lines": lines}
                + more,
                messages.INFO,
            )

    @admin.action(description=_("Close epoch (settle, sign the Merkle root, pin the dump)"))
    def close_epochs(self, request: HttpRequest, queryset: QuerySet[Epoch]) -> None:
        for epoch in queryset.filter(status="open").select_related("dao"):
            try:
                closed = services.epoch_close(
                    dao=epoch.dao, actor=request.user, number=epoch.number
                )
            except (services.RewardsError, ImproperlyConfigured) as exc:
                self.message_user(request, f"{epoch}: {_refusal(exc)}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(epoch)s: closed, total %(total)s, root %(root)s, dump %(dump)s")
                % {
                    "epoch": closed,
                    "total": _tokens(closed.total, epoch.dao),
                    "root": closed.root,
                    "dump": closed.dump_cid,
                },
                messages.SUCCESS,
            )


class ReasonFilter(admin.SimpleListFilter):
    """The reasons a credit is written for: a fixed list, not the distinct reasons of every
    entry (a scan of the whole ledger on every page)."""

    title = _("reason")
    parameter_name = "reason__exact"  # the URL the plain field filter used

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(reason, reason) for reason in allocations.CREDIT_REASONS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RewardEntry]) -> Any:
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(RewardEntry)
class RewardEntryAdmin(CappedCountAdmin, ReadOnly):
    list_display = ("account", "amount_tokens", "reason", "dataset", "epoch", "created_at")
    list_filter = (ReasonFilter,)
    list_select_related = ("account", "dataset__dao", "epoch__dao", "dao")

    @admin.display(description=_("amount"))
    def amount_tokens(self, obj: RewardEntry) -> str:
        return _tokens(obj.amount, obj.dao)


@admin.register(Voucher)
class VoucherAdmin(ReadOnly):
    list_display = ("contributor", "amount_tokens", "nonce", "deadline", "dao", "created_at")
    search_fields = ("contributor",)
    list_select_related = ("dao",)

    @admin.display(description=_("amount"))
    def amount_tokens(self, obj: Voucher) -> str:
        return _tokens(obj.amount, obj.dao)


# The royalty pages register themselves on import (Django autodiscovers this module only).
from rewards import admin_royalties  # noqa: E402, F401
