"""The console's base classes every app's admin builds on: pages scoped to the DAOs the user
manages, and pages that only show."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from datadao.models import DAO, Dataset
from datadao.selectors import managed_dao_ids

# A console list counts at most this many rows: past it, the count reads "10000+" and the
# pages stop there (filters and search narrow what is listed). Counting every row of a table
# of millions on every page is what makes big consoles slow; this count stays a bounded
# index scan however large the table grows.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP`` rows (``SELECT count(*) FROM (… LIMIT
    cap)``); ``capped`` says whether there were more."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        # Slicing makes Django count over a LIMITed subquery; without the ordering, so the
        # first rows found are counted rather than every row sorted first.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class CappedCountAdmin(admin.ModelAdmin):
    """A console list over a table that grows with the data: a bounded count (``CappedPaginator``)
    and no second count of the unfiltered rows."""

    paginator = CappedPaginator
    show_full_result_count = False
    # Rendering a row costs more than finding it: half the admin's default of 100 a page keeps
    # these pages within their budget against /healthz; filters and search find the rest.
    list_per_page = 50


class ReadOnlyAdminMixin:
    """Console pages that only show: every change happens through a service (an action)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DaoScopedAdmin(admin.ModelAdmin):
    """Limits every view, form choice and permission to the DAOs the user manages.

    ``dao_lookup`` is the ORM path from the model to its DAO's id.
    """

    dao_lookup = "dao_id"

    def _global(self, request: HttpRequest, action: str) -> bool:
        opts = self.opts
        return request.user.is_superuser or request.user.has_perm(
            f"{opts.app_label}.{action}_{opts.model_name}"
        )

    def _dao_ids(self, request: HttpRequest) -> set[int]:
        # Cached per request: the changelist asks for permissions many times.
        cached = getattr(request, "_managed_dao_ids", None)
        if cached is None:
            cached = managed_dao_ids(user=request.user)
            request._managed_dao_ids = cached
        return cached

    def _obj_dao_id(self, obj: Any) -> int | None:
        value = obj
        for part in self.dao_lookup.split("__"):
            value = getattr(value, part)
        return value

    def _scoped(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if self._global(request, action):
            return True
        ids = self._dao_ids(request)
        if obj is None:
            return bool(ids)
        return self._obj_dao_id(obj) in ids

    def _dataset_ids(self, request: HttpRequest) -> list[int]:
        # Cached per request, as the DAOs are.
        cached = getattr(request, "_managed_dataset_ids", None)
        if cached is None:
            dao_ids = self._dao_ids(request)
            cached = list(Dataset.objects.filter(dao_id__in=dao_ids).values_list("id", flat=True))
            request._managed_dataset_ids = cached  # type: ignore[attr-defined]
        return cached

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self._global(request, "view"):
            return queryset
        if self.dao_lookup == "dataset__dao_id":
            # The datasets as a list of ids rather than a join: the planner then walks the
            # list's ordering index and stops at a page, where the join had it sort every row.
            return queryset.filter(dataset_id__in=self._dataset_ids(request))
        return queryset.filter(**{f"{self.dao_lookup}__in": self._dao_ids(request)})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._scoped(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._scoped(request, "view", obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._scoped(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._scoped(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._scoped(request, "delete", obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is DAO and not self._global(request, "change"):
            kwargs["queryset"] = DAO.objects.filter(pk__in=self._dao_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
