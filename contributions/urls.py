from django.urls import path

from contributions import api, query_views, release_views, token_views, withdrawal_views
from contributions.quorum import api as validator_api

urlpatterns = [
    path("datasets/<int:dataset_id>/contributions", api.upload, name="api-upload"),
    path("contributions", api.contribution_list, name="api-contributions"),
    path(
        "datasets/<int:dataset_id>/withdrawal",
        withdrawal_views.withdrawal,
        name="api-withdrawal",
    ),
    path("withdrawals", withdrawal_views.withdrawals, name="api-withdrawals"),
    path("releases/<str:cid>/queries", query_views.release_queries, name="api-release-queries"),
    path("queries/<int:query_id>", query_views.query_detail, name="api-query"),
    path("contributions/<int:contribution_id>", api.contribution_detail, name="api-contribution"),
    path(
        "contributions/<int:contribution_id>/proof",
        api.contribution_proof,
        name="api-contribution-proof",
    ),
    path("validators/work", validator_api.work, name="api-validator-work"),
    path(
        "validators/contributions/<int:contribution_id>/content",
        validator_api.content,
        name="api-validator-content",
    ),
    path(
        "validators/contributions/<int:contribution_id>/ciphertext",
        validator_api.ciphertext,
        name="api-validator-ciphertext",
    ),
    path(
        "validators/contributions/<int:contribution_id>/attestations",
        validator_api.attestations,
        name="api-validator-attestations",
    ),
    path("tokens", token_views.tokens, name="api-tokens"),
    path("tokens/<int:token_id>", token_views.token_revoke, name="api-token"),
]

# Release downloads, by the release's CID (release_views).
urlpatterns += [
    path(
        "releases/<str:cid>/manifest.json",
        release_views.release_manifest,
        name="release-manifest",
    ),
    path(
        "datasets/<int:dataset_id>/releases",
        release_views.dataset_releases,
        name="api-dataset-releases",
    ),
    path("releases/<str:cid>/release.car", release_views.release_car, name="release-car"),
    path("releases/<str:cid>/data.csv", release_views.release_csv, name="release-csv"),
    path("releases/<str:cid>/data.parquet", release_views.release_parquet, name="release-parquet"),
]
