"""The console's joining pages: join requests (approve, decline), invite links (create,
revoke) and the signed terms acceptances. Scoped per DAO like the rest of the console; every
change goes through ``datadao.joining``. Registered by ``datadao.admin``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from datadao import joining
from datadao.admin_base import DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.http import localized
from datadao.models import InviteLink, JoinRequest, TermsAcceptance


class _ManagerActions:
    """Actions only for those who manage some DAO here (staff without a DAO get none)."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if not self._scoped(request, "view"):  # type: ignore[attr-defined]
            return {}
        actions.pop("delete_selected", None)
        return actions

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Any], fn: Any, done_text: Any
    ) -> None:
        # ``done_text``: an ngettext_lazy message whose number is "count".
        done = 0
        for obj in queryset:
            try:
                fn(obj)
                done += 1
            except joining.JoinRefused as exc:
                self.message_user(request, f"{obj}: {localized(exc.message)}", messages.ERROR)  # type: ignore[attr-defined]
        if done:
            self.message_user(request, done_text % {"count": done}, messages.SUCCESS)  # type: ignore[attr-defined]


@admin.register(JoinRequest)
class JoinRequestAdmin(_ManagerActions, ReadOnlyAdminMixin, DaoScopedAdmin):
    """Requests to join the DAOs one manages; approve or decline the pending ones."""

    list_display = ("user", "dao", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("user__address",)
    list_select_related = ("user", "dao", "decided_by")
    readonly_fields = ("dao", "user", "status", "acceptance", "created_at", "decided_at")
    actions = ("approve", "decline")

    @admin.action(description=_("Approve selected requests (they become contributors)"))
    def approve(self, request: HttpRequest, queryset: QuerySet[JoinRequest]) -> None:
        self._apply(
            request,
            queryset,
            lambda r: joining.join_request_approve(join_request=r, actor=request.user),
            ngettext_lazy("%(count)d request approved.", "%(count)d requests approved.", "count"),
        )

    @admin.action(description=_("Decline selected requests"))
    def decline(self, request: HttpRequest, queryset: QuerySet[JoinRequest]) -> None:
        self._apply(
            request,
            queryset,
            lambda r: joining.join_request_decline(join_request=r, actor=request.user),
            ngettext_lazy("%(count)d request declined.", "%(count)d requests declined.", "count"),
        )


# An invite link's state by the code of ``joining.invite_refusal`` (None: it admits).
_INVITE_STATES = {
    None: _("usable"),
    "invite_revoked": _("revoked"),
    "invite_expired": _("expired"),
    "invite_used_up": _("used up"),
}


class InviteLinkForm(forms.ModelForm):
    valid_for_days = forms.IntegerField(
        min_value=1,
        max_value=joining.INVITE_MAX_LIFETIME.days,
        initial=7,
        help_text=format_lazy(
            _("The link expires after this many days (at most {days})."),
            days=joining.INVITE_MAX_LIFETIME.days,
        ),
    )
    max_uses = forms.IntegerField(
        min_value=1,
        max_value=joining.INVITE_MAX_USES,
        initial=1,
        help_text=_("1: a single-use link for one person; more for a group."),
    )

    class Meta:
        model = InviteLink
        fields = ["dao", "note", "max_uses"]


@admin.register(InviteLink)
class InviteLinkAdmin(_ManagerActions, DaoScopedAdmin):
    """Invite links of the DAOs one manages. The link is shown once, when created; only its
    token's hash is stored. Links are revoked, never edited or deleted."""

    form = InviteLinkForm
    list_display = ("__str__", "dao", "note", "uses", "max_uses", "expires_at", "state")
    list_select_related = ("dao",)
    search_fields = ("note",)
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["dao", "note", "max_uses", "valid_for_days"]
        return [
            "dao",
            "note",
            "uses",
            "max_uses",
            "expires_at",
            "created_by",
            "created_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("State"))
    def state(self, obj: InviteLink) -> str:
        refusal = joining.invite_refusal(obj)
        return str(_INVITE_STATES[refusal[0] if refusal else None])

    def save_model(
        self, request: HttpRequest, obj: InviteLink, form: forms.ModelForm, change: bool
    ) -> None:
        link, token = joining.invite_link_create(
            dao=form.cleaned_data["dao"],
            actor=request.user,
            max_uses=form.cleaned_data["max_uses"],
            lifetime=timedelta(days=form.cleaned_data["valid_for_days"]),
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk = link.pk
        url = request.build_absolute_uri(reverse("dao-invite", args=[link.dao.slug, token]))
        self.message_user(
            request,
            _("Invite link (shown this once; copy it now): %(url)s") % {"url": url},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke selected invite links"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[InviteLink]) -> None:
        self._apply(
            request,
            queryset,
            lambda link: joining.invite_link_revoke(invite=link, actor=request.user),
            ngettext_lazy(
                "%(count)d invite link revoked.", "%(count)d invite links revoked.", "count"
            ),
        )


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdminMixin, DaoScopedAdmin):
    """Every signed acceptance of a DAO's terms, as signed (typed data, signature, signer)."""

    list_display = ("signer", "dao", "terms_hash", "created_at")
    search_fields = ("signer", "terms_hash")
    list_select_related = ("dao",)
    readonly_fields = (
        "dao",
        "user",
        "signer",
        "terms_hash",
        "typed_data",
        "signature",
        "created_at",
    )
