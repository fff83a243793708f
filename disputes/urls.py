"""The disputes JSON API, included under ``/api/``."""

from django.urls import path

from disputes import api

urlpatterns = [
    path("daos/<str:slug>/challenges", api.challenges, name="api-challenges"),
    path("challenges/<int:challenge_id>", api.challenge_detail, name="api-challenge"),
    path(
        "challenges/<int:challenge_id>/decision", api.challenge_decide, name="api-challenge-decide"
    ),
]
