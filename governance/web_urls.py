"""Governance pages."""

from django.urls import path

from governance import views

urlpatterns = [
    path("daos/<slug:slug>/proposals", views.proposals_page, name="dao-proposals"),
]
