"""Console pages for royalties: the DAO's treasury share, and what consumers paid and how
each payment was split."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.http import localized
from rewards import royalties, services
from rewards.models import RoyaltyPayment, RoyaltyPolicy
from rewards.units import format_amount


def _tokens(amount: Any, dao: Any) -> str:
    return format_amount(int(amount), dao.token_decimals, dao.token_symbol)


class RoyaltyPolicyForm(forms.ModelForm):
    """The treasury share in basis points and its address, checked by the service's own rule
    (``royalties.royalty_policy_check``), so a refusal is a form error, never a failed save."""

    treasury_share_bps = forms.IntegerField(
        min_value=0,
        max_value=10_000,
        initial=0,
        label=_("Treasury share (basis points)"),
        help_text=_(
            "Of each payment consumers make for this DAO's data, the part its treasury "
            "keeps, in basis points: 1000 is 10%, 0 pays everything to the contributors."
        ),
    )
    treasury_address = forms.CharField(
        max_length=42,
        required=False,
        help_text=_(
            "The address the treasury share is paid to (it claims it from the epoch "
            "root like a contributor). Needed when the share is above 0."
        ),
    )

    class Meta:
        model = RoyaltyPolicy
        fields = ["dao", "treasury_share_bps", "treasury_address"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        share = cleaned.get("treasury_share_bps")
        if share is None:
            return cleaned
        try:
            cleaned["treasury_address"] = royalties.royalty_policy_check(
                treasury_share_bps=share, treasury_address=cleaned.get("treasury_address", "")
            )
        except services.RewardsError as exc:
            field = "treasury_share_bps" if "basis points" in exc.message else "treasury_address"
            self.add_error(field, localized(exc.message))
        return cleaned

    def _post_clean(self) -> None:
        # The address is checksummed in clean(); the model's own validators see that value.
        if "treasury_address" in self.cleaned_data:
            self.instance.treasury_address = self.cleaned_data["treasury_address"]
        super()._post_clean()


@admin.register(RoyaltyPolicy)
class RoyaltyPolicyAdmin(DaoScopedAdmin):
    """How each payment by a data consumer is split: the treasury share, the rest to the
    contributors of the release consumed. Saved through ``royalties.royalty_policy_set``
    (audited)."""

    dao_lookup = "dao_id"
    form = RoyaltyPolicyForm
    list_display = ("dao", "share_percent", "treasury_address", "updated_at")
    list_select_related = ("dao",)

    @admin.display(description=_("treasury share"))
    def share_percent(self, obj: RoyaltyPolicy) -> str:
        return f"{obj.treasury_share_bps / 100:g}% ({obj.treasury_share_bps} bps)"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("dao",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RoyaltyPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        policy = royalties.royalty_policy_set(
            dao=obj.dao,
            actor=request.user,
            treasury_share_bps=form.cleaned_data["treasury_share_bps"],
            treasury_address=form.cleaned_data["treasury_address"],
        )
        obj.pk = policy.pk


@admin.register(RoyaltyPayment)
class RoyaltyPaymentAdmin(ReadOnlyAdminMixin, DaoScopedAdmin):
    """What consumers paid and how each payment was split: the treasury's part and each
    contributor's (read-only: payments are credited by ``royalties.royalty_distribute``)."""

    list_display = (
        "payment_key",
        "dataset",
        "amount_tokens",
        "treasury_tokens",
        "contributors",
        "created_at",
    )
    list_select_related = ("dao", "dataset")
    search_fields = ("payment_key",)
    fields = (
        "payment_key",
        "dao",
        "dataset",
        "release_cid",
        "amount_tokens",
        "treasury_tokens",
        "treasury_address",
        "split",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount_tokens(self, obj: RoyaltyPayment) -> str:
        return _tokens(obj.amount, obj.dao)

    @admin.display(description=_("treasury part"))
    def treasury_tokens(self, obj: RoyaltyPayment) -> str:
        return f"{_tokens(obj.treasury_amount, obj.dao)} ({obj.treasury_share_bps} bps)"

    @admin.display(description=_("contributors"))
    def contributors(self, obj: RoyaltyPayment) -> int:
        return len(obj.shares)

    @admin.display(description=_("split among the contributors"))
    def split(self, obj: RoyaltyPayment) -> str:
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row["address"],
                    _("%(score)s of %(total)s") % {"score": row["score"], "total": obj.total_score},
                    _tokens(row["amount"], obj.dao),
                )
                for row in obj.shares
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("Contributor"),
            _("Score"),
            _("Share"),
            rows,
        )
