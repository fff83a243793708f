from django.urls import path

from labeling import api

urlpatterns = [
    path("<int:dataset_id>/next", api.next_task, name="api-label-next"),
    path("<int:dataset_id>/holds/<int:hold_id>/label", api.submit, name="api-label-submit"),
    path("<int:dataset_id>/holds/<int:hold_id>/skip", api.skip, name="api-label-skip"),
    path("<int:dataset_id>/undo", api.undo, name="api-label-undo"),
    path("<int:dataset_id>/me", api.me, name="api-label-me"),
    path("<int:dataset_id>/review", api.review_queue, name="api-label-review"),
    path(
        "<int:dataset_id>/review/<int:task_id>/accept",
        api.review_decide,
        {"decision": "accept"},
        name="api-label-review-accept",
    ),
    path(
        "<int:dataset_id>/review/<int:task_id>/fix",
        api.review_decide,
        {"decision": "fix"},
        name="api-label-review-fix",
    ),
    path(
        "<int:dataset_id>/review/<int:task_id>/reject",
        api.review_decide,
        {"decision": "reject"},
        name="api-label-review-reject",
    ),
    path("<int:dataset_id>/consensus", api.consensus, name="api-label-consensus"),
    path("<int:dataset_id>/imports", api.import_create, name="api-label-imports"),
    path(
        "<int:dataset_id>/prediction-endpoint",
        api.prediction_endpoint,
        name="api-label-prediction-endpoint",
    ),
    path(
        "<int:dataset_id>/prediction-endpoint/run",
        api.prediction_run,
        name="api-label-prediction-run",
    ),
    path("imports/<int:import_id>", api.import_detail, name="api-label-import"),
    path("<int:dataset_id>/export.csv", api.export_labels, {"fmt": "csv"}, name="api-label-csv"),
    path("<int:dataset_id>/export/<slug:fmt>", api.export_typed, name="api-label-export"),
    path(
        "<int:dataset_id>/export.jsonl",
        api.export_labels,
        {"fmt": "jsonl"},
        name="api-label-jsonl",
    ),
]
