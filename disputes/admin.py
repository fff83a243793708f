"""The console's page of challenges: a DAO's managers list them and decide them.

Listing is read-only; every change goes through ``disputes.services`` from the decision page
(record the bond, uphold, reject), which names the refusal when a service refuses (a party to
the dispute, a challenge already decided).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.errors import ApplicationError
from datadao.http import localized
from disputes import services
from disputes.models import UNRESOLVED, Challenge, ChallengeStatus
from rewards.units import format_amount

ACTIONS = {
    "bond": _("Record the bond as posted"),
    "uphold": _("Uphold: reverse the work and its reward"),
    "reject": _("Reject: the bond is forfeited"),
}


class OpenFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("undecided", _("Not decided yet")), ("review", _("Waiting for a reviewer"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "undecided":
            return queryset.filter(status__in=UNRESOLVED)
        if self.value() == "review":
            return queryset.filter(status=ChallengeStatus.REVIEW)
        return queryset


@admin.register(Challenge)
class ChallengeAdmin(ReadOnlyAdminMixin, DaoScopedAdmin):
    list_display = (
        "id",
        "dao",
        "target",
        "reason",
        "status",
        "bond_tokens",
        "bond_status",
        "challenger",
        "created_at",
        "decide_link",
    )
    list_filter = (OpenFilter, "status", "reason")
    list_select_related = ("dao", "challenger")
    search_fields = ("challenger__address", "statement")
    show_full_result_count = False
    readonly_fields = [
        "decide_link",
        *(f.name for f in Challenge._meta.fields),
    ]

    @admin.display(description=_("target"))
    def target(self, obj: Challenge) -> str:
        return obj.target_label

    @admin.display(description=_("bond"))
    def bond_tokens(self, obj: Challenge) -> str:
        return format_amount(int(obj.bond), obj.dao.token_decimals, obj.dao.token_symbol)

    @admin.display(description=_("decide"))
    def decide_link(self, obj: Challenge) -> str:
        if obj.status not in UNRESOLVED:
            return _("decided")
        url = reverse("admin:disputes_challenge_decide", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Review and decide"))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:object_id>/decide/", view, name="disputes_challenge_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The challenge with its target, replay and bond, and the decisions a manager may
        take (through ``disputes.services``)."""
        challenge = get_object_or_404(
            self.get_queryset(request).select_related(
                "dao", "dataset", "challenger", "contribution", "label_task"
            ),
            pk=object_id,
        )
        may_decide = request.user.is_superuser or challenge.dao_id in self._dao_ids(request)
        if request.method == "POST":
            if not may_decide:
                raise PermissionDenied
            self._decide(request, challenge)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Challenge %(pk)s: %(status)s")
            % {"pk": challenge.pk, "status": challenge.get_status_display()},
            "challenge": challenge,
            "dao": challenge.dao,
            "bond": format_amount(
                int(challenge.bond), challenge.dao.token_decimals, challenge.dao.token_symbol
            ),
            "actions": _actions(challenge) if may_decide else [],
        }
        return TemplateResponse(request, "admin/disputes/decide.html", context)

    def _decide(self, request: HttpRequest, challenge: Challenge) -> None:
        action = request.POST.get("action")
        text = request.POST.get("note", "")
        try:
            if action == "bond":
                services.challenge_bond_record(
                    challenge_id=challenge.pk, actor=request.user, reference=text
                )
            elif action == "uphold":
                services.challenge_uphold(challenge_id=challenge.pk, actor=request.user, note=text)
            elif action == "reject":
                services.challenge_reject(challenge_id=challenge.pk, actor=request.user, note=text)
            else:
                self.message_user(request, _("Choose a decision."), messages.ERROR)
                return
        except ApplicationError as exc:
            self.message_user(
                request,
                _("Challenge %(pk)s: %(refusal)s")
                % {"pk": challenge.pk, "refusal": localized(exc.message)},
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            _("Challenge %(pk)s: %(action)s.") % {"pk": challenge.pk, "action": ACTIONS[action]},
            messages.SUCCESS,
        )


def _actions(challenge: Challenge) -> list[tuple[str, str]]:
    if challenge.status == ChallengeStatus.BOND_DUE:
        return [(k, ACTIONS[k]) for k in ("bond", "reject")]
    if challenge.status in (ChallengeStatus.OPEN, ChallengeStatus.REVIEW):
        return [(k, ACTIONS[k]) for k in ("uphold", "reject")]
    return []
