"""Console pages of validator sets: register or change a DAO's set (a new version each time,
audited; refused while the DAO reserves it for governance), see each validator's
disagreements, and each contribution's attestations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contributions.models import ValidatorAttestation, ValidatorSet
from contributions.quorum import errors, selectors, services
from datadao.admin_base import DaoScopedAdmin
from datadao.governed import ChangeKind, reserved_refusal
from datadao.http import localized


class ValidatorSetForm(forms.ModelForm):
    """A new version of a DAO's set: one address per line and the threshold k."""

    validators = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 50}),
        help_text=_(
            "One address per line: each validator runs `datadao validator run` with its "
            "own key. Leave empty with threshold 0 to have the platform's key attest again."
        ),
    )
    threshold = forms.IntegerField(
        min_value=0,
        help_text=_(
            "k: how many validators must agree on a contribution's verdict and scores "
            "before it is accepted (1 to the number of validators)."
        ),
    )

    class Meta:
        model = ValidatorSet
        fields = ["dao", "threshold"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        dao = cleaned.get("dao")
        if dao is not None:
            refusal = reserved_refusal(dao, ChangeKind.VALIDATOR_SET)
            if refusal is not None:
                # The service refuses it too; here the refusal is shown on the page.
                self.add_error(None, refusal)
                return cleaned
        lines = [line.strip() for line in (cleaned.get("validators") or "").splitlines()]
        try:
            members, threshold = services.validator_set_refusal(
                addresses=[line for line in lines if line], threshold=cleaned.get("threshold")
            )
        except errors.ValidatorSetRefused as exc:
            self.add_error(None, localized(exc.message))
            return cleaned
        cleaned["members"], cleaned["threshold"] = members, threshold
        return cleaned


@admin.register(ValidatorSet)
class ValidatorSetAdmin(DaoScopedAdmin):
    """Versions of each DAO's validator set. Adding one changes the DAO's set (the service
    audits it and decides the waiting contributions again); a version is never edited or
    deleted, since published proofs name it."""

    form = ValidatorSetForm
    list_display = (
        "dao",
        "version",
        "threshold",
        "size",
        "created_by",
        "created_at",
        "adopted_by",
    )
    list_select_related = ("dao", "created_by")
    readonly_fields = ("dao", "version", "threshold", "members_and_disagreements", "created_by")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["dao", "validators", "threshold"]
        return [
            "dao",
            "version",
            "threshold",
            "members_and_disagreements",
            "created_by",
            "proposal",
            "created_at",
            # The DAO wallet that signed this version (manage.py validator_set_adoption).
            "adopted_by",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("validators (n)"))
    def size(self, obj: ValidatorSet) -> int:
        return obj.members.count()

    @admin.display(description=_("Validators: times out of line"))
    def members_and_disagreements(self, obj: ValidatorSet) -> str:
        counts = selectors.disagreement_counts(dao_id=obj.dao_id)
        rows = [(m, counts.get(m, 0)) for m in obj.members.values_list("address", flat=True)]
        if not rows:
            return _("None: the platform's key attests.")
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li><code>{}</code>: {}</li>", rows)
        )

    def save_model(
        self, request: HttpRequest, obj: ValidatorSet, form: forms.ModelForm, change: bool
    ) -> None:
        created = services.validator_set_change(
            dao=form.cleaned_data["dao"],
            addresses=form.cleaned_data["members"],
            threshold=form.cleaned_data["threshold"],
            actor=request.user,
        )
        obj.pk = created.pk


class AttestationInline(admin.TabularInline):
    """Each validator's attestation of a contribution, as signed."""

    model = ValidatorAttestation
    extra = 0
    can_delete = False
    fields = ("validator", "accepted", "score", "quality", "uniqueness", "cid", "reasons_text")
    readonly_fields = fields

    @admin.display(description=_("reasons"))
    def reasons_text(self, obj: ValidatorAttestation) -> str:
        return "; ".join(obj.reasons) or "—"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # shown on a contribution's page, which is scoped to its DAO's managers

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
