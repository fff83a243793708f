"""The console's admin site: who may enter. Kept apart from datadao.admin to avoid an import
cycle (django.contrib.auth.admin registers on the default site while datadao.admin loads)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from datadao.selectors import user_has_console_access


class ConsoleSite(admin.AdminSite):
    site_header = "datadao console"
    site_title = "datadao console"
    index_title = "Your DAOs"

    def has_permission(self, request: HttpRequest) -> bool:
        # Staff log in with a password at /admin/login; DAO creators and admins arrive signed
        # in with their wallet (SIWE) and are let in by their membership.
        return user_has_console_access(user=request.user)
