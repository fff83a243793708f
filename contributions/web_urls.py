from django.urls import path

from contributions import token_views, views

urlpatterns = [
    path("me/contributions", views.my_contributions, name="my-contributions"),
    path("me/contributions/<int:contribution_id>", views.my_contribution, name="my-contribution"),
    path("me/tokens", token_views.my_tokens, name="my-tokens"),
    path("me/tokens/new", token_views.my_tokens_create, name="my-tokens-create"),
    path("me/tokens/<int:token_id>/revoke", token_views.my_token_revoke, name="my-token-revoke"),
    path("daos/<slug:dao_slug>/<slug:dataset_slug>/", views.dataset_page, name="dataset-page"),
    path(
        "daos/<slug:dao_slug>/<slug:dataset_slug>/example.csv",
        views.dataset_example,
        name="dataset-example",
    ),
]
