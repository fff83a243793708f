"""Console pages for contributions: DAO-scoped, read-only, with audited overrides."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contributions import services, tally
from contributions.errors import ContributionRefused
from contributions.models import ConsentWithdrawal, Contribution, Release, Review, Status
from contributions.quorum.admin import AttestationInline
from contributions.quorum.services import contribution_attest_again
from contributions.releases import release_publish
from contributions.sealed import Unreadable
from contributions.selectors import (
    CountedPaginator,
    contribution_excerpt,
    contribution_preview_kind,
    releases_of,
)
from datadao.admin import DaoScopedAdmin, DatasetAdmin, ReadOnlyAdminMixin, short_hex
from datadao.admin_base import CappedCountAdmin, CappedPaginator
from datadao.blobs import StoreUnavailable
from datadao.http import localized
from datadao.models import Dataset
from datadao.selectors import managed_dao_ids
from ipfs.backends.base import IpfsError


class DatasetFilter(admin.SimpleListFilter):
    """The datasets of the DAOs the user manages (every DAO's for a global view): read from
    the datasets, not from the distinct datasets of a million contributions."""

    title = _("dataset")
    parameter_name = "dataset__id__exact"  # the URL the related-field filter used

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        datasets = Dataset.objects.select_related("dao").order_by("dao__name", "name")
        if not model_admin._global(request, "view"):
            datasets = datasets.filter(dao_id__in=model_admin._dao_ids(request))
        return [(str(d.pk), str(d)) for d in datasets[:DATASETS_LISTED]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> Any:
        value = self.value()
        return queryset.filter(dataset_id=int(value)) if value and value.isdigit() else queryset


class ReviewFilter(admin.SimpleListFilter):
    title = _("review queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", _("Waiting for review"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> Any:
        if self.value() == "pending":
            return queryset.filter(review=Review.PENDING)
        return queryset


# The list's filters whose count the tallies answer (with the page and the ordering, which do
# not change it); any other filter or a search counts the rows, capped.
TALLIED_PARAMS = frozenset({"status__exact", DatasetFilter.parameter_name})
PAGE_PARAMS = frozenset({"p", "o"})
DATASETS_LISTED = 200


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdminMixin, CappedCountAdmin, DaoScopedAdmin):
    dao_lookup = "dataset__dao_id"
    list_display = (
        "id",
        "dataset",
        "contributor_short",
        "status",
        "score",
        "quality",
        "uniqueness",
        "signed",
        "review",
        "duplicate_of",
        "cid_link",
        "created_at",
    )
    # Days as links that need no query: a date hierarchy would read the distinct months and
    # days of every contribution listed.
    list_filter = (
        ReviewFilter,
        "status",
        "signed",
        DatasetFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("sha256", "cid", "contributor__address", "original_name")
    list_select_related = ("dataset__dao", "contributor")
    actions = (
        "accept_override",
        "reject_override",
        "confirm_review",
        "retry_failed",
        "attest_again",
    )
    # A DAO with a validator set: each validator's attestation (a held one's disagreement).
    inlines = (AttestationInline,)
    readonly_fields = [field.name for field in Contribution._meta.fields]

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Contribution],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> Any:
        """The count from the tallies when the filters are ones they answer (status, dataset),
        else a capped count: never a count of every contribution on every page."""
        known = self._tallied_count(request)
        if known is None:
            return CappedPaginator(queryset, per_page, orphans, allow_empty_first_page)
        return CountedPaginator(queryset, per_page, count=known)

    def _tallied_count(self, request: HttpRequest) -> int | None:
        params = set(request.GET) - PAGE_PARAMS
        if params - TALLIED_PARAMS:
            return None
        if self._global(request, "view"):
            ids = list(Dataset.objects.values_list("id", flat=True))
        else:
            ids = self._dataset_ids(request)
        dataset = request.GET.get(DatasetFilter.parameter_name)
        if dataset is not None:
            if not dataset.isdigit():
                return None
            ids = [i for i in ids if i == int(dataset)]
        status = request.GET.get("status__exact")
        if status is not None and status not in Status.values:
            return None
        statuses = (status,) if status is not None else ()
        return sum(row.n for row in tally.tally(ids, by=("status",), statuses=statuses))

    def _may_see_files(self, request: HttpRequest, obj: Contribution) -> bool:
        # The files are the contributors' data: the DAO's creators and admins (or a superuser)
        # review them, not operators with a global view permission.
        return request.user.is_superuser or obj.dataset.dao_id in self._dao_ids(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.near_duplicate_of_id and self._may_see_files(request, obj):
            return ["side_by_side", *fields]
        return fields

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.file_view)
        return [
            path("<int:object_id>/file/", view, name="contributions_contribution_file"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """A contribution's image, for the review page's <img>: raster types only, sandboxed,
        to the DAO's creators and admins."""
        contribution = get_object_or_404(
            self.get_queryset(request).select_related("dataset"), pk=object_id
        )
        if not self._may_see_files(request, contribution):
            raise PermissionDenied
        if contribution_preview_kind(contribution) != "image":
            raise Http404(_("No image preview for this contribution."))
        try:
            stream = services.contribution_open(contribution)
        except FileNotFoundError as exc:
            raise Http404(_("The file is not stored on this server.")) from exc
        except StoreUnavailable as exc:
            return HttpResponse(
                _("The file store did not answer (%(error)s).") % {"error": exc},
                status=503,
                content_type="text/plain",
            )
        except Unreadable as exc:
            return HttpResponse(
                _("The stored file does not open (%(error)s); it will not be served.")
                % {"error": exc},
                status=502,
                content_type="text/plain",
            )
        response = FileResponse(stream, content_type=contribution.media_type)
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def _pane(self, contribution: Contribution, title: str) -> str:
        change = reverse("admin:contributions_contribution_change", args=[contribution.pk])
        head = format_html(
            _(
                '<h3><a href="{url}">#{pk}</a> {title}</h3>'
                "<p>{name} · {size} bytes · {media_type} · {status}</p>"
            ),
            url=change,
            pk=contribution.pk,
            title=title,
            name=contribution.original_name or _("(no name)"),
            size=number_format(contribution.size),
            media_type=contribution.media_type or _("unknown type"),
            status=contribution.get_status_display(),
        )
        kind = contribution_preview_kind(contribution)
        if kind == "image":
            url = reverse("admin:contributions_contribution_file", args=[contribution.pk])
            body = format_html(
                _('<img src="{url}" alt="contribution #{pk}">'), url=url, pk=contribution.pk
            )
        elif kind == "text":
            excerpt = contribution_excerpt(contribution)
            body = (
                format_html("<pre>{}</pre>", excerpt)
                if excerpt is not None
                else format_html("<p>{}</p>", _("The file is not stored on this server."))
            )
        else:
            body = format_html(
                _("<p>No preview for {media_type}.</p>"),
                media_type=contribution.media_type or _("this type"),
            )
        return format_html('<div class="dd-pane">{}{}</div>', head, body)

    @admin.display(description=_("Side by side"))
    def side_by_side(self, obj: Contribution) -> str:
        earlier = obj.near_duplicate_of
        if earlier is None or earlier.dataset_id != obj.dataset_id:
            return "–"
        return format_html(
            '<div class="dd-side-by-side">{}{}</div>',
            self._pane(obj, _("this contribution")),
            self._pane(earlier, _("the earlier contribution it resembles")),
        )

    @admin.display(description=_("contributor"), ordering="contributor__address")
    def contributor_short(self, obj: Contribution) -> str:
        return short_hex(obj.contributor.address)

    @admin.display(description=_("CID"))
    def cid_link(self, obj: Contribution) -> str:
        if not obj.cid:
            return "—"
        return format_html('<a href="/ipfs/{}">{}…</a>', obj.cid, obj.cid[:16])

    @admin.display(description=_("near-duplicate of"))
    def duplicate_of(self, obj: Contribution) -> str:
        # The reviewer compares the two side by side; both are in the same dataset and DAO.
        if obj.near_duplicate_of_id is None:
            return "—"
        url = reverse("admin:contributions_contribution_change", args=[obj.near_duplicate_of_id])
        return format_html('<a href="{}">#{}</a>', url, obj.near_duplicate_of_id)

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
                self.message_user(
                    request, f"#{contribution.pk}: {localized(exc.message)}", messages.ERROR
                )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d contribution updated.", "%(count)d contributions updated.", done
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Accept (override the pipeline's rejection)"))
    def accept_override(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="accept"
            ),
        )

    @admin.action(description=_("Reject (override the pipeline's acceptance)"))
    def reject_override(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="reject"
            ),
        )

    @admin.action(description=_("Confirm rejection of flagged near-duplicates"))
    def confirm_review(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_override(
                contribution=c, actor=request.user, decision="confirm"
            ),
        )

    @admin.action(description=_("Ask the validators again (held contributions)"))
    def attest_again(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: contribution_attest_again(contribution=c, actor=request.user),
        )

    @admin.action(description=_("Retry failed contributions (e.g. retry pin)"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Contribution]) -> None:
        self._apply(
            request,
            queryset,
            lambda c: services.contribution_retry(contribution=c, actor=request.user),
        )


# --- Releases -------------------------------------------------------------------------------------
# Kept as one section (read-only ReleaseAdmin, the "Publish a release" action attached to the
# datasets page) so it merges cleanly with the contribution console above.


@admin.register(Release)
class ReleaseAdmin(DaoScopedAdmin):
    dao_lookup = "dataset__dao_id"
    list_display = (
        "dataset",
        "version",
        "cid",
        "contributions_count",
        "total_bytes",
        "created_by",
        "created_at",
    )
    search_fields = ("cid", "dataset__name", "dataset__slug")
    list_select_related = ("dataset__dao", "created_by")
    fields = (
        "dataset",
        "version",
        "cid",
        "proofs_cid",
        "page",
        "contributions_count",
        "total_bytes",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Release]:
        # The manifest lists every contribution; the page links to it instead of loading it.
        return super().get_queryset(request).defer("manifest")

    @admin.display(description=_("Release page"))
    def page(self, obj: Release) -> str:
        url = reverse("release-page", args=[obj.cid])
        return format_html('<a href="{}">{}</a>', url, _("manifest, CAR and data downloads"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # releases are immutable: publish a new version instead

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description=_("Publish a release of the selected datasets"), permissions=["change"])
def publish_release(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Dataset]
) -> None:
    """Only a DAO's creators and admins (or a superuser) publish its releases; operators with
    a global change permission on datasets are refused here, not in the service."""
    managed = managed_dao_ids(user=request.user)
    for dataset in queryset.select_related("dao"):
        if not (request.user.is_superuser or dataset.dao_id in managed):
            modeladmin.message_user(
                request,
                _("%(dataset)s: only creators and admins of %(dao)s publish its releases.")
                % {"dataset": dataset, "dao": dataset.dao.name},
                messages.ERROR,
            )
            continue
        before = releases_of(dataset).first()
        try:
            release = release_publish(dataset=dataset, actor=request.user)
        except ValidationError as exc:
            modeladmin.message_user(
                request, f"{dataset}: {' '.join(map(localized, exc.messages))}", messages.ERROR
            )
            continue
        except IpfsError as exc:
            modeladmin.message_user(
                request,
                _("%(dataset)s: the manifest could not be pinned (%(error)s).")
                % {"dataset": dataset, "error": exc},
                messages.ERROR,
            )
            continue
        url = reverse("release-page", args=[release.cid])
        if before is not None and before.pk == release.pk:
            text = _("{}: nothing changed since <a href='{}'>v{}</a>; no new release.")
            level = messages.INFO
        else:
            text = _("{}: published <a href='{}'>v{}</a>.")
            level = messages.SUCCESS
        modeladmin.message_user(request, format_html(text, dataset, url, release.version), level)


DatasetAdmin.actions = (*DatasetAdmin.actions, publish_release)


@admin.register(ConsentWithdrawal)
class ConsentWithdrawalAdmin(ReadOnlyAdminMixin, DaoScopedAdmin):
    """Withdrawals of consent in the DAO's datasets and what was made from the data; the
    DAO republishes without it (the dataset action, or the action here)."""

    dao_lookup = "dataset__dao_id"
    list_display = ("created_at", "dataset", "contributor", "withdrawn_count", "derived_summary")
    list_select_related = ("dataset__dao", "contributor")
    fields = (
        "created_at",
        "dataset",
        "contributor",
        "contribution",
        "withdrawn",
        "derived",
        "signature",
    )
    readonly_fields = fields
    actions = ("republish",)

    @admin.display(description=_("Contributions"))
    def withdrawn_count(self, obj: ConsentWithdrawal) -> int:
        return len(obj.withdrawn)

    @admin.display(description=_("Derived from them"))
    def derived_summary(self, obj: ConsentWithdrawal) -> str:
        parts = [f"{len(items)} {name}" for name, items in obj.derived.items() if items]
        return ", ".join(parts) or "nothing"

    @admin.action(description=_("Republish the datasets without the withdrawn data"))
    def republish(self, request: HttpRequest, queryset: QuerySet[ConsentWithdrawal]) -> None:
        # publish_release refuses a dataset whose DAO the user does not manage.
        publish_release(self, request, Dataset.objects.filter(pk__in=queryset.values("dataset_id")))
