from django.urls import path

from contributions import api

urlpatterns = [
    path("datasets/<int:dataset_id>/contributions", api.upload, name="api-upload"),
    path("contributions", api.contribution_list, name="api-contributions"),
    path("contributions/<int:contribution_id>", api.contribution_detail, name="api-contribution"),
    path(
        "contributions/<int:contribution_id>/proof",
        api.contribution_proof,
        name="api-contribution-proof",
    ),
    path("tokens", api.token_create, name="api-token-create"),
]
