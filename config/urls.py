"""URL map: web pages, the SIWE endpoints, the console (admin)."""

from django.contrib import admin
from django.urls import include, path

from datadao.views import auth, join, jsi18n, metrics, openapi, pages, personal

urlpatterns = [
    path("", pages.home, name="home"),
    path("daos/new", pages.dao_new, name="dao-new"),
    path("daos/<slug:slug>/", pages.dao_detail, name="dao-detail"),
    path("daos/<slug:slug>/invite/<str:token>", join.invite_page, name="dao-invite"),
    path("auth/nonce", auth.nonce, name="siwe-nonce"),
    path("auth/verify", auth.verify, name="siwe-verify"),
    path("auth/logout", auth.logout_view, name="siwe-logout"),
    path("auth/me", auth.me, name="siwe-me"),
    path("auth/demo", auth.demo_sign_in, name="demo-sign-in"),
    path("api/openapi.json", openapi.openapi_json, name="api-openapi"),
    path("api/daos/<str:slug>/terms", join.terms, name="api-dao-terms"),
    path("api/daos/<str:slug>/join", join.join, name="api-dao-join"),
    path("api/daos/<str:slug>/leave", join.leave, name="api-dao-leave"),
    path("api/me/export.zip", personal.export_zip, name="api-me-export"),
    path("api/", include("contributions.urls")),
    path("api/", include("rights.urls")),
    path("api/", include("governance.urls")),
    path("api/", include("disputes.urls")),
    path("api/labeling/", include("labeling.urls")),
    path("", include("labeling.web_urls")),
    path("", include("contributions.web_urls")),
    path("", include("rewards.urls")),
    path("ipfs/", include("ipfs.urls")),
    # The language switcher on every page posts here (Django's set_language: a cookie, then back).
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' translations (gettext() and friends in the browser), for the active language.
    path("jsi18n/", jsi18n.javascript_catalog, name="javascript-catalog"),
    path("healthz", pages.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/dashboard/", include("console.views")),
    path("", include("rights.web_urls")),
    path("", include("governance.web_urls")),
    path("admin/", admin.site.urls),
    path("releases/", include("contributions.page_urls")),
]
