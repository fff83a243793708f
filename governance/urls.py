"""The governance JSON API, included under ``/api/``."""

from django.urls import path

from governance import api

urlpatterns = [
    path("daos/<str:slug>/proposals", api.proposals, name="api-proposals"),
    path("proposals/<int:proposal_id>", api.proposal_detail, name="api-proposal"),
    path("proposals/<int:proposal_id>/votes", api.proposal_votes, name="api-proposal-votes"),
]
