"""Console pages for contributions: DAO-scoped, read-only, with audited overrides."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from contributions import services
from contributions.errors import ContributionRefused
from contributions.models import Contribution, Review
from datadao.admin import DaoScopedAdmin


class ReviewFilter(admin.SimpleListFilter):
    title = "review queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "Waiting for review")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> Any:
        if self.value() == "pending":
            return queryset.filter(review=Review.PENDING)
        return queryset


@admin.register(Contribution)
class ContributionAdmin(DaoScopedAdmin):
    dao_lookup = "dataset__dao_id"
    list_display = (
        "id",
        "dataset",
        "contributor",
        "status",
        "score",
        "quality",
        "uniqueness",
        "signed",
        "review",
        "cid_link",
        "created_at",
    )
    list_filter = (ReviewFilter, "status", "signed", "dataset")
    search_fields = ("sha256", "cid", "contributor__address", "original_name")
    list_select_related = ("dataset", "contributor")
    date_hierarchy = "created_at"
    actions = ("accept_override", "reject_override", "confirm_review", "retry_failed")
    readonly_fields = [field.name for field in Contribution._meta.fields]
    show_full_result_count = False  # COUNT(*) on every page is what makes big admins slow

    @admin.display(description="CID")
    def cid_link(self, obj: Contribution) -> str:
        if not obj.cid:
            return "—"
        return format_html('<a href="/ipfs/{}">{}…</a>', obj.cid, obj.cid[:16])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing is enough: every change is one of the audited actions below.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self._scoped(request, "view"):
            return {}
        return actions

    def _apply(self, request: HttpRequest, queryset: QuerySet[Contribution], fn: Any) -> None:
        done = 0
        for contribution in queryset:
            try:
                fn(contribution)
                done += 1
            except ContributionRefused as exc:
                self.message_user(request, f"#{contribution.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} contribution(s) updated.", messages.SUCCESS)

    @admin.action(description="Accept (override the pipeline's rejection)")
    def accept_override(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="accept"
            ),
        )

    @admin.action(description="Reject (override the pipeline's acceptance)")
    def reject_override(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="reject"
            ),
        )

    @admin.action(description="Confirm rejection of flagged near-duplicates")
    def confirm_review(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="confirm"
            ),
        )

    @admin.action(description="Retry failed contributions (e.g. retry pin)")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_retry(contribution=c, actor=request.user),
        )
