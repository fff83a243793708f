"""Data-rights pages: a consumer's own page, and the DAO's page in the console."""

from django.urls import path

from rights import views

urlpatterns = [
    path("me/access", views.my_access, name="my-access"),
    path("admin/data-rights/<slug:slug>/", views.console_rights, name="console-rights"),
    path("admin/data-rights/<slug:slug>/reads", views.console_reads, name="console-reads"),
]
