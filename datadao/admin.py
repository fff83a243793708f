"""The DAO creator console: the Django admin, scoped per DAO.

A creator or admin of DAO X sees and edits only DAO X's objects; superusers see everything;
other staff (operators) get what their Django permissions grant. Every write goes through a
service, so the console cannot bypass status guards or skip the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from datadao import notices, services
from datadao.admin_base import CappedCountAdmin, DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.checklist import setup_checklist
from datadao.errors import Detail
from datadao.governed import GOVERNANCE_FIELDS, ChangeKind, reserved_refusal
from datadao.http import localized
from datadao.licenses import normalize_license
from datadao.models import (
    DAO,
    DISPUTE_FIELDS,
    AuditEvent,
    Dataset,
    DatasetKind,
    DatasetStatus,
    Membership,
    Role,
    User,
    WorkerHeartbeat,
)
from datadao.schema import empty_schema, validate_schema, validate_scoring
from datadao.schema_builder import EDITOR_BUILDER, EDITOR_JSON, SchemaBuilder
from datadao.schema_text import representable
from datadao.selectors import request_has_console_access


def short_hex(value: str, head: int = 6, tail: int = 4) -> str:
    """A long address, hash or CID shortened for a list column (``0xeFef…E82b``), the whole
    value in the title: lists stay narrow enough for a laptop screen."""
    if not value or len(value) <= head + tail + 1:
        return value or "–"
    return format_html('<span title="{}">{}…{}</span>', value, value[:head], value[-tail:])


def _refusals(exc: ValidationError) -> list[str]:
    """A service's ``ValidationError`` messages in the page's language: a ``Detail`` (a schema
    fault, say) is translated by its template, which ``exc.messages`` would have dropped."""
    if not hasattr(exc, "error_list"):
        return [localized(message) for message in exc.messages]
    return [
        localized(error.message) if isinstance(error.message, Detail) else localized(message)
        for error, message in zip(exc.error_list, exc.messages, strict=True)
    ]


def _service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    for message in _refusals(exc):
        form.add_error(None, message)


# --- DAO ------------------------------------------------------------------------------------------


class DAOForm(forms.ModelForm):
    governance_reserved = forms.TypedMultipleChoiceField(
        label=_("Reserved for governance"),
        choices=ChangeKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Changes the console may no longer make: only a passed proposal may. Once "
            "anything is reserved, the governance settings are too (change them by proposal)."
        ),
    )
    token_decimals = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=36,
        initial=18,
        help_text=(
            _(
                "The token's decimals (its ERC-20 decimals(): 18 for most tokens, 6 for USDC); "
                "amounts are shown and typed in whole tokens. Empty: unchanged (18 for a new DAO)."
            )
        ),
    )

    class Meta:
        model = DAO
        fields = [
            "name",
            "slug",
            "description",
            "token_symbol",
            "token_decimals",
            "chain_id",
            "reward_contract_address",
            "epoch_days",
            "join_policy",
            "terms",
            *GOVERNANCE_FIELDS,
            "replication_factor",
            *DISPUTE_FIELDS,
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left out of a posted form (a script, an older client): the DAO keeps its policy.
        optional = ("join_policy", "voting_power", "governance_timelock_seconds")
        optional += ("governance_min_quorum_bps", "governance_min_period_seconds")
        optional += ("replication_factor", *DISPUTE_FIELDS)
        for name in optional:
            if name in self.fields:
                self.fields[name].required = False

    def clean_join_policy(self) -> str:
        return self.cleaned_data.get("join_policy") or self.instance.join_policy

    def clean_replication_factor(self) -> int:
        value = self.cleaned_data.get("replication_factor")
        return self.instance.replication_factor if value is None else value

    def _kept(self, name: str) -> Any:
        # Left out of a posted form: the DAO keeps its setting (a checkbox left out is off,
        # as browsers send it; only an absent number keeps the stored one).
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value is None else value

    def clean_challenge_window_seconds(self) -> int:
        return self._kept("challenge_window_seconds")

    def clean_challenge_bond(self) -> int:
        return int(self._kept("challenge_bond"))

    def clean_challenge_share_bps(self) -> int:
        return self._kept("challenge_share_bps")

    def clean_voting_power(self) -> str:
        return self.cleaned_data.get("voting_power") or self.instance.voting_power

    def clean_governance_timelock_seconds(self) -> int:
        value = self.cleaned_data.get("governance_timelock_seconds")
        return self.instance.governance_timelock_seconds if value is None else value

    def clean_governance_min_quorum_bps(self) -> int:
        value = self.cleaned_data.get("governance_min_quorum_bps")
        return self.instance.governance_min_quorum_bps if value is None else value

    def clean_governance_min_period_seconds(self) -> int:
        value = self.cleaned_data.get("governance_min_period_seconds")
        return self.instance.governance_min_period_seconds if value is None else value

    def clean(self) -> dict[str, Any]:
        # The service refuses these too; here the refusal is an error next to the field.
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        checks = [("join_policy", ChangeKind.JOIN_POLICY)]
        checks += [(name, ChangeKind.GOVERNANCE) for name in GOVERNANCE_FIELDS]
        for name, kind in checks:
            if name not in self.changed_data or name not in cleaned:
                continue
            if cleaned[name] == getattr(self.instance, name):
                continue
            refusal = reserved_refusal(self.instance, kind)
            if refusal is not None:
                self.add_error(name, refusal)
        return cleaned

    def clean_token_decimals(self) -> int:
        value = self.cleaned_data.get("token_decimals")
        return self.instance.token_decimals if value is None else value

    def _post_clean(self) -> None:
        # After the model's own validation (format, the unique (chain, contract) constraint):
        # the service's check of the contract, on-chain where the chain can be read, so a
        # refusal is a form error on the page rather than a failed save.
        super()._post_clean()
        if self.errors or not {"chain_id", "reward_contract_address"} & set(self.changed_data):
            return
        try:
            services.dao_validate_reward_contract(dao=self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(DAO)
class DAOAdmin(DaoScopedAdmin):
    dao_lookup = "id"
    form = DAOForm
    list_display = (
        "name",
        "slug",
        "token_symbol",
        "chain_id",
        "join_policy",
        "creator",
        "created_at",
    )
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    _FIELDS = (
        "name",
        "slug",
        "description",
        "token_symbol",
        "token_decimals",
        "chain_id",
        "reward_contract_address",
        "epoch_days",
        "join_policy",
        "terms",
    )
    # Shows the founder's checklist (datadao.checklist) above the DAO's fields.
    change_form_template = "admin/datadao/dao/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        dao = self.get_object(request, object_id)
        if dao is not None and self.has_view_permission(request, dao):
            extra_context = {
                **(extra_context or {}),
                "checklist": setup_checklist(dao=dao),
                "notices": notices.for_dao(dao),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def response_add(self, request: HttpRequest, obj: DAO, post_url_continue: Any = None) -> Any:
        # A founder lands on the new DAO's page, where the checklist of next steps is.
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            _("The DAO “%(dao)s” was founded. Its next steps are below.") % {"dao": obj},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:datadao_dao_change", args=[obj.pk]))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The DAO id is shown so its creator can deploy the DAO's distributor with it.
        return ("slug", "onchain_id") if obj is not None else ()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        # A new DAO starts with the default governance; it is set on the DAO's page.
        if obj is None:
            return [(None, {"fields": self._FIELDS})]
        return [
            (None, {"fields": (*self._FIELDS, "onchain_id")}),
            (_("Governance"), {"fields": GOVERNANCE_FIELDS}),
            (_("Disputes"), {"fields": DISPUTE_FIELDS}),
        ]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        # A read-only slug is not a form field: prepopulating it crashed the change page.
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Anyone allowed into the console may found another DAO.
        return request_has_console_access(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # DAOs carry audit history, datasets and (later) money: they are never deleted.
        return False

    def save_model(
        self, request: HttpRequest, obj: DAO, form: forms.ModelForm, change: bool
    ) -> None:
        data = {k: form.cleaned_data[k] for k in form.changed_data if k != "slug"}
        if change:
            services.dao_update(dao=obj, actor=request.user, **data)
        else:
            created = services.dao_create(
                creator=request.user,
                name=obj.name,
                slug=obj.slug,
                token_symbol=obj.token_symbol,
                token_decimals=obj.token_decimals,
                description=obj.description,
                chain_id=obj.chain_id,
                reward_contract_address=obj.reward_contract_address,
                epoch_days=obj.epoch_days,
                join_policy=obj.join_policy,
                terms=obj.terms,
                replication_factor=obj.replication_factor,
            )
            obj.pk = created.pk
            obj.creator = created.creator


# --- Membership -----------------------------------------------------------------------------------


class MembershipForm(forms.ModelForm):
    address = forms.CharField(
        max_length=42,
        help_text=_("The member's Ethereum address (0x…). New addresses are created."),
    )
    # The console user, set by MembershipAdmin.get_form: the role choices are theirs to give.
    actor: User | None = None

    class Meta:
        model = Membership
        fields = ["dao", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["address"].initial = self.instance.user.address
            self.fields["address"].disabled = True
            # Only the roles this actor may move this member to (services check it again).
            self.fields["role"].choices = [
                (value, label)
                for value, label in Role.choices
                if value == self.instance.role or self._refusal(self.instance.role, value) is None
            ]

    def _refusal(self, before: str | None, after: str | None, dao_id: int | None = None) -> Any:
        return services.membership_change_refusal(
            actor=self.actor,
            dao_id=dao_id if dao_id is not None else self.instance.dao_id,
            user_id=self.instance.user_id if self.instance.pk else self._user_id(),
            before=before,
            after=after,
        )

    def _add_refusal(self, dao: DAO, role: str) -> str | None:
        refusal = self._refusal(None, role, dao_id=dao.pk)
        if refusal is None and role != Role.CONTRIBUTOR:
            refusal = reserved_refusal(dao, ChangeKind.MEMBERSHIP_ROLE)
        return refusal

    def _user_id(self) -> int | None:
        address = self.cleaned_data.get("address") if hasattr(self, "cleaned_data") else None
        user = User.objects.filter(address=address).only("pk").first() if address else None
        return user.pk if user else None

    def clean_address(self) -> str:
        return services.normalize_address(self.cleaned_data["address"])

    def clean(self) -> dict[str, Any]:
        # The services enforce these too (under row locks); checking here turns the common case
        # into a form error on the page instead of a refused save.
        cleaned = super().clean()
        dao, address, role = cleaned.get("dao"), cleaned.get("address"), cleaned.get("role")
        adding = self.instance.pk is None
        if adding and dao and address:
            if Membership.objects.filter(dao=dao, user__address=address).exists():
                self.add_error(
                    "address",
                    _("%(address)s is already a member of %(dao)s.")
                    % {"address": address, "dao": dao.name},
                )
            elif role and (refusal := self._add_refusal(dao, role)):
                self.add_error("role", refusal)
        elif not adding and role:
            refusal = self._refusal(self.instance.role, role)
            if role != self.instance.role and not refusal:
                refusal = reserved_refusal(self.instance.dao, ChangeKind.MEMBERSHIP_ROLE)
            if refusal:
                self.add_error("role", refusal)
            elif self.instance.role == Role.CREATOR and role != Role.CREATOR:
                other_creators = Membership.objects.filter(
                    dao_id=self.instance.dao_id, role=Role.CREATOR
                ).exclude(pk=self.instance.pk)
                if not other_creators.exists():
                    self.add_error(
                        "role", _("A DAO must keep at least one member with role 'creator'.")
                    )
        return cleaned


@admin.register(Membership)
class MembershipAdmin(DaoScopedAdmin):
    """Members of the DAOs one manages. Who may change whom is decided by
    ``services.membership_change_refusal``: an admin manages validators and contributors,
    only a creator grants or takes the admin and creator roles, nobody raises their own."""

    form = MembershipForm
    list_display = ("user", "dao", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__address", "user__display_name")

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("dao",) if obj is not None else ()

    def _may(self, request: HttpRequest, obj: Membership, after: str | None) -> bool:
        return (
            services.membership_change_refusal(
                actor=request.user,
                dao_id=obj.dao_id,
                user_id=obj.user_id,
                before=obj.role,
                after=after,
            )
            is None
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or obj.role not in services.PRIVILEGED_ROLES:
            return True
        # An admin sees another admin's or a creator's membership, read-only.
        return any(self._may(request, obj, role) for role in Role.values if role != obj.role)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        if obj.role == Role.CREATOR and not (
            Membership.objects.filter(dao_id=obj.dao_id, role=Role.CREATOR)
            .exclude(pk=obj.pk)
            .exists()
        ):
            return False  # the last creator: a DAO never has none
        if services.membership_removal_reserved(membership=obj, actor=request.user):
            return False  # only a proposal changes its role; the member may still leave
        return self._may(request, obj, None)

    def save_model(
        self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            services.membership_set_role(membership=obj, role=obj.role, actor=request.user)
            return
        user, _created = services.user_get_or_create(address=form.cleaned_data["address"])
        created = services.membership_add(dao=obj.dao, user=user, role=obj.role, actor=request.user)
        obj.pk, obj.user = created.pk, user

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            try:
                services.membership_remove(membership=membership, actor=request.user)
            except ValidationError as exc:
                self.message_user(
                    request,
                    f"{membership}: {' '.join(_refusals(exc))}",
                    messages.ERROR,
                )


# --- Dataset --------------------------------------------------------------------------------------


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, sort_keys=False)


class DatasetForm(forms.ModelForm):
    """The dataset editor. The schema comes from the builder (form rows per kind) or, for
    experts, from the JSON textarea; either way ``validate_schema`` checks it as a whole and
    every fault is shown with its path."""

    schema_editor = forms.ChoiceField(
        label=_("Save the schema from"),
        choices=[
            (EDITOR_BUILDER, _("the builder")),
            (EDITOR_JSON, _("the JSON")),
        ],
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "The builder covers every schema key; the JSON is for pasting a schema. "
            "A schema the builder cannot show exactly opens with the JSON chosen."
        ),
    )
    scoring = PrettyJSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90, "style": "font-family: monospace"}),
        help_text=_(
            'Optional. {"weights": {"authenticity": 1, "ownership": 1, "quality": 2, '
            '"uniqueness": 2}, "threshold": 5000} — scores are basis points (0–10000).'
        ),
    )
    schema = PrettyJSONField(
        label=_("Advanced: edit JSON"),
        widget=forms.Textarea(attrs={"rows": 18, "cols": 90, "style": "font-family: monospace"}),
        help_text=_(
            'Tabular: {"columns": [{"name": "age", "type": "int", "min": 0}], '
            '"target", "max_size", "constraints"}; files: {"media_types": ["image/png"], '
            '"max_size", "image": {"min_width", ...}}; labeling: {"labels": ["cat", "dog"], '
            '"overlap", ...}. Unknown keys are refused, so a typo never loosens the schema.'
        ),
    )

    class Meta:
        model = Dataset
        fields = [
            "dao",
            "name",
            "slug",
            "kind",
            "description",
            "schema",
            "license",
            "visibility",
            "scoring",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.instance.kind if self.instance.pk else self._initial_kind()
        if self.instance.pk:
            schema = self.instance.schema
        else:
            # A new dataset starts from its kind's empty schema, never null.
            schema = empty_schema(kind)
            self.initial["schema"] = schema
            self.fields["kind"].initial = kind
        self.fields["schema_editor"].initial = (
            EDITOR_BUILDER if representable(kind, schema) else EDITOR_JSON
        )
        self.builder = SchemaBuilder.create(
            data=self.data if self.is_bound else None,
            kinds=(kind,) if self.instance.pk else tuple(DatasetKind.values),
            schema=schema,
            schema_kind=kind,
        )

    def _initial_kind(self) -> str:
        kind = self.initial.get("kind")
        return kind if kind in DatasetKind.values else DatasetKind.TABULAR

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind") or (self.instance.kind if self.instance.pk else None)
        # Scripts that post only "schema" (no builder rows) keep editing the JSON.
        if kind and cleaned.get("schema_editor") == EDITOR_BUILDER:
            self._clean_built_schema(kind, cleaned)
        elif kind and "schema" in cleaned:
            for error in validate_schema(kind, cleaned["schema"]):
                self.add_error("schema", localized(error))
        if "scoring" in cleaned:
            cleaned["scoring"] = cleaned["scoring"] or {}
            for error in validate_scoring(cleaned["scoring"]):
                self.add_error("scoring", localized(error))
        if cleaned.get("license"):
            try:
                cleaned["license"] = normalize_license(cleaned["license"])
            except ValueError as exc:
                self.add_error("license", str(exc))
        if self.instance.pk:
            self._refuse_reserved(cleaned)
        return cleaned

    def _refuse_reserved(self, cleaned: dict[str, Any]) -> None:
        # The service refuses these too; here the refusal is an error next to the field.
        dao = self.instance.dao
        for name, kind, where in (
            ("license", ChangeKind.DATASET_LICENSE, "license"),
            ("schema", ChangeKind.DATASET_SCHEMA, None),
        ):
            if name not in cleaned or cleaned[name] == getattr(self.instance, name):
                continue
            if refusal := reserved_refusal(dao, kind):
                self.add_error(where, refusal)

    def _clean_built_schema(self, kind: str, cleaned: dict[str, Any]) -> None:
        # The JSON textarea is not used in this mode: its own parse error must not block saving.
        self.errors.pop("schema", None)
        schema, problems = self.builder.build(kind)
        if schema is None:
            for problem in problems:
                self.add_error(None, _("Schema builder: %(problem)s") % {"problem": problem})
            return
        errors = validate_schema(kind, schema)
        for error in self.builder.attach_errors(kind, errors):
            self.add_error(None, _("Schema: %(error)s") % {"error": error})
        if not errors:
            cleaned["schema"] = schema

    def schema_changed(self) -> bool:
        return self.cleaned_data.get("schema") != self.initial.get("schema")


@dataclass(frozen=True)
class ObjectTool:
    """A button on a console change page that POSTs ``fields`` to ``url`` (an action on this
    one object, e.g. "Close dataset")."""

    label: str
    url: str
    fields: dict[str, str] = field(default_factory=dict)


# Buttons other apps add to a dataset's console page (labeling adds "Run consensus"), filled in
# their admin modules: datadao imports no app above it.
DatasetTool = Callable[[HttpRequest, Dataset], list[ObjectTool]]
dataset_tools: list[DatasetTool] = []


# A dataset's status as a word inside a sentence ("… is now open.").
_STATUS_WORDS = {
    DatasetStatus.DRAFT: pgettext_lazy("dataset status", "draft"),
    DatasetStatus.OPEN: pgettext_lazy("dataset status", "open"),
    DatasetStatus.CLOSED: pgettext_lazy("dataset status", "closed"),
}


@admin.register(Dataset)
class DatasetAdmin(DaoScopedAdmin):
    form = DatasetForm
    change_form_template = "admin/datadao/dataset/change_form.html"
    list_display = ("name", "dao", "kind", "status", "visibility", "license", "updated_at")
    list_filter = ("kind", "status", "visibility")
    search_fields = ("name", "slug")
    actions = ("open_datasets", "close_datasets")
    # Renders the schema builder (DatasetForm.builder) above the "Schema" fieldset.
    change_form_template = "admin/datadao/dataset/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "dao",
                    "name",
                    "slug",
                    "kind",
                    "status",
                    "description",
                    "license",
                    "visibility",
                )
            },
        ),
        (_("Schema"), {"fields": ("schema_editor", "schema")}),
        (_("Scoring"), {"fields": ("scoring",)}),
    )

    class Media:
        js = ("datadao/schema_builder.js",)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.status_view)
        return [
            path("<int:object_id>/status/", view, name="datadao_dataset_status"),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Open or close one dataset from its page, through ``dataset_set_status`` (its guard
        refuses a transition it does not allow: shown as a message, nothing changed)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        dataset = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, dataset):
            raise PermissionDenied
        status = request.POST.get("status", "")
        if status == dataset.status:
            self.message_user(
                request,
                _("%(dataset)s is already %(status)s.")
                % {"dataset": dataset, "status": _STATUS_WORDS[status]},
                messages.WARNING,
            )
        else:
            try:
                services.dataset_set_status(dataset=dataset, actor=request.user, status=status)
            except ValidationError as exc:
                self.message_user(request, f"{dataset}: {' '.join(_refusals(exc))}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(dataset)s is now %(status)s.")
                    % {"dataset": dataset, "status": _STATUS_WORDS[status]},
                    messages.SUCCESS,
                )
        return redirect("admin:datadao_dataset_change", dataset.pk)

    def _tools(self, request: HttpRequest, dataset: Dataset) -> list[ObjectTool]:
        url = reverse("admin:datadao_dataset_status", args=[dataset.pk])
        tools = []
        if dataset.status != DatasetStatus.OPEN:
            tools.append(ObjectTool(_("Open for contributions"), url, {"status": "open"}))
        if dataset.status != DatasetStatus.CLOSED:
            tools.append(ObjectTool(_("Close dataset"), url, {"status": "closed"}))
        for extra in dataset_tools:
            tools.extend(extra(request, dataset))
        return tools

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        dataset = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if dataset is not None and self.has_change_permission(request, dataset):
            context["object_tools"] = self._tools(request, dataset)
        return super().change_view(request, object_id, form_url, context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("dao", "slug", "kind", "status") if obj is not None else ("status",)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        # A creator of a single DAO has only one place a dataset can go.
        ids = self._dao_ids(request)
        if "dao" not in initial and len(ids) == 1 and not self._global(request, "change"):
            initial["dao"] = next(iter(ids))
        return initial

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Close a dataset instead: contributions and rewards refer to it.
        return request.user.is_superuser

    def save_model(
        self, request: HttpRequest, obj: Dataset, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            fields = ("name", "description", "license", "visibility", "scoring")
            changes = {k: form.cleaned_data[k] for k in fields if k in form.changed_data}
            # Compared by value: the builder changes the schema without touching the JSON.
            if form.schema_changed():
                changes["schema"] = form.cleaned_data["schema"]
            services.dataset_update(dataset=obj, actor=request.user, **changes)
            return
        created = services.dataset_create(
            dao=obj.dao,
            actor=request.user,
            name=obj.name,
            slug=obj.slug,
            kind=obj.kind,
            schema=obj.schema,
            license=obj.license,
            description=obj.description,
            visibility=obj.visibility,
            scoring=obj.scoring or {},
        )
        obj.pk = created.pk

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Dataset], status: str) -> None:
        done = 0
        for dataset in queryset:
            try:
                services.dataset_set_status(dataset=dataset, actor=request.user, status=status)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{dataset}: {' '.join(_refusals(exc))}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d dataset now %(status)s.", "%(count)d datasets now %(status)s.", done
                )
                % {"count": done, "status": _STATUS_WORDS[status]},
                messages.SUCCESS,
            )

    @admin.action(description=_("Open selected datasets for contributions"))
    def open_datasets(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._set_status(request, queryset, DatasetStatus.OPEN)

    @admin.action(description=_("Close selected datasets"))
    def close_datasets(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._set_status(request, queryset, DatasetStatus.CLOSED)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.has_delete_permission(request):
            actions.pop("delete_selected", None)
        return actions


# --- Audit log (read-only) ----------------------------------------------------------------------


class VerbFilter(admin.SimpleListFilter):
    """The verbs of the latest events (``VERBS_FROM`` of them), not the distinct verbs of the
    whole log on every page; any verb still filters by its URL."""

    title = _("verb")
    parameter_name = "verb__exact"  # the URL the plain field filter used

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        latest = model_admin.get_queryset(request).order_by("-id")[:VERBS_FROM]
        return [(v, v) for v in sorted(set(latest.values_list("verb", flat=True)))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> Any:
        return queryset.filter(verb=self.value()) if self.value() else queryset


VERBS_FROM = 2000


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, CappedCountAdmin, DaoScopedAdmin):
    list_display = ("created_at", "verb", "actor", "dao", "object_type", "object_id")
    # Days as links that need no query: a date hierarchy reads the distinct months and days
    # of every event listed.
    list_filter = (VerbFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("verb", "object_id", "actor__address")
    list_select_related = ("actor", "dao")


# --- Operators only -------------------------------------------------------------------------------


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("address",)

    def clean_address(self) -> str:
        return services.normalize_address(self.cleaned_data["address"])


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("address",)
    list_display = ("address", "display_name", "is_staff", "is_active", "date_joined")
    search_fields = ("address", "display_name")
    list_filter = ("is_staff", "is_superuser", "is_active")
    fieldsets = (
        (None, {"fields": ("address", "password", "display_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("address", "password1", "password2")}),)
    filter_horizontal = ("groups",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "last_seen", "runs")
    readonly_fields = ("hostname", "last_seen", "runs")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# The joining pages (join requests, invite links, terms acceptances) build on the classes above.
from datadao import joining_admin  # noqa: E402, F401
