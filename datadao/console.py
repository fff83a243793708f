"""The console's admin site: who may enter. Kept apart from datadao.admin to avoid an import
cycle (django.contrib.auth.admin registers on the default site while datadao.admin loads)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from datadao.selectors import request_has_console_access


class ConsoleSite(admin.AdminSite):
    site_header = _("datadao console")
    site_title = _("datadao console")
    index_title = _("Your DAOs")

    def has_permission(self, request: HttpRequest) -> bool:
        # Staff log in with a password at /admin/login; DAO creators and admins arrive signed
        # in with their wallet (SIWE) and are let in by their membership.
        return request_has_console_access(request)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        # The dashboards are views, not models: listed by hand on the index and in the sidebar.
        apps = super().get_app_list(request, app_label)
        if app_label is None:
            url = reverse("dao-dashboards")
            apps.insert(
                0,
                {
                    "name": _("Dashboards"),
                    "app_label": "dashboards",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [
                        {
                            "name": _("DAO dashboards"),
                            "object_name": "Dashboard",
                            "admin_url": url,
                            "view_only": True,
                        }
                    ],
                },
            )
        return apps
