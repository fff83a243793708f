"""The data-rights JSON API, included under ``/api/``."""

from django.urls import path

from rights import api

urlpatterns = [
    path("me/grants", api.my_grants, name="api-my-grants"),
    path("me/reads", api.my_reads, name="api-my-reads"),
    path("datasets/<int:dataset_id>/purchases", api.purchase_create, name="api-purchase-create"),
    path("datasets/<int:dataset_id>/offer", api.offer_set, name="api-offer-set"),
    path("daos/<str:slug>/grants", api.dao_grants, name="api-dao-grants"),
    path("daos/<str:slug>/grants/draft", api.grant_draft, name="api-grant-draft"),
    path("daos/<str:slug>/grants/<int:grant_id>/revoke", api.grant_revoke, name="api-grant-revoke"),
    path("daos/<str:slug>/purchases", api.dao_purchases, name="api-dao-purchases"),
    path(
        "daos/<str:slug>/purchases/<int:purchase_id>/confirm",
        api.purchase_confirm,
        name="api-purchase-confirm",
    ),
]
