"""The console's base classes every app's admin builds on: pages scoped to the DAOs the user
manages, and pages that only show."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from datadao.models import DAO
from datadao.selectors import managed_dao_ids


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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self._global(request, "view"):
            return queryset
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
