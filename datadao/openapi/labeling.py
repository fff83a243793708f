"""Paths of the labeling API (``labeling.api``): every operation goes through its
``endpoint`` wrapper, so they share its caller resolution and refusals."""

from __future__ import annotations

from typing import Any

from datadao.openapi.common import (
    CSRF_FAILED,
    HTML,
    INTEGER,
    JSON,
    SESSION,
    SESSION_WRITE,
    STRING,
    UNAUTHENTICATED,
    Schema,
    binary,
    closed,
    error,
    json_response,
    nullable,
    path_id,
    query,
    ref,
    token,
)

LABELING_DATASET = path_id("dataset_id", "labeling dataset")
HOLD = path_id("hold_id", "hold (from GET …/next)")
CONFLICT = error(
    "conflict: the dataset is not open, the hold was already used or expired, "
    "or there is nothing to undo."
)
FORBIDDEN = error(
    "forbidden (not a member, or not a DAO admin) or paused (your accuracy on "
    "check questions fell under the dataset's floor)."
)


def labeling_operation(
    summary: str,
    description: str,
    ok: dict[str, Schema],
    *,
    write: bool,
    scope: str,
    bad_request: Schema | None = None,
    **extra: Any,
) -> Schema:
    """A labeling operation: every one shares the caller resolution and refusals of
    ``labeling.api.endpoint``."""
    responses: dict[str, Schema] = {
        **ok,
        "400": bad_request or error("refused or bad_label: the request names something invalid."),
        "401": UNAUTHENTICATED,
        "403": FORBIDDEN,
        "404": error("not_found: no such labeling dataset, hold or import."),
        "409": CONFLICT,
    }
    if write:
        # Django's CSRF page answers a session write first; forbidden keeps its JSON body.
        responses["403"] = {
            "description": FORBIDDEN["description"] + " Or CSRF verification failed (HTML).",
            "content": {**FORBIDDEN["content"], **CSRF_FAILED["content"]},
        }
    operation: Schema = {
        "tags": ["labeling"],
        "summary": summary,
        "description": description,
        "security": [token(scope), SESSION_WRITE if write else SESSION],
        "responses": responses,
    }
    operation.update(extra)
    return operation


PATHS: dict[str, Schema] = {
    # --- labeling --------------------------------------------------------------------------------
    "/api/labeling/{dataset_id}/next": {
        "get": labeling_operation(
            "Hold the next task for you (or return your live hold)",
            "No response before submission says whether a task is a check question or what "
            "others answered.",
            {
                "200": json_response(
                    ref("Next"), "A hold, or task null when nothing is left for you."
                )
            },
            write=False,
            scope="label",
            operationId="label_next",
            parameters=[LABELING_DATASET],
        )
    },
    "/api/labeling/{dataset_id}/holds/{hold_id}/label": {
        "post": labeling_operation(
            "Answer a task you hold",
            "The answer's shape follows the dataset's task type (`task_type` of the hold): a "
            "label name (a list for multi-choice), boxes inside the image, spans inside the "
            "text (overlapping only where `rules.overlapping`), `left`/`right`/`tie` (a tie "
            "only where `rules.allow_tie`), or a non-empty transcription. A refusal (400 "
            "bad_label) names the box or span and what is wrong with it.",
            {"201": json_response(ref("Submitted"), "Recorded.")},
            write=True,
            scope="label",
            operationId="label_submit",
            parameters=[LABELING_DATASET, HOLD],
            requestBody={
                "required": True,
                "content": {
                    JSON: {
                        "schema": closed(
                            {
                                "label": ref("Answer"),
                                "duration_ms": {"type": "integer", "minimum": 0},
                            },
                            optional=("duration_ms",),
                        )
                    }
                },
            },
        )
    },
    "/api/labeling/{dataset_id}/holds/{hold_id}/skip": {
        "post": labeling_operation(
            "Give a held task back (never offered to you again)",
            "",
            {"200": json_response(closed({"skipped": INTEGER}), "Skipped.")},
            write=True,
            scope="label",
            operationId="label_skip",
            parameters=[LABELING_DATASET, HOLD],
        )
    },
    "/api/labeling/{dataset_id}/undo": {
        "post": labeling_operation(
            "Take back your last answer (within a minute)",
            "The task is held for you again. A task does not settle while one of its labels can "
            "still be undone. On a check question the first answer is the one scored.",
            {"200": json_response(closed({"task": ref("Hold")}), "The task, held again.")},
            write=True,
            scope="label",
            operationId="label_undo",
            parameters=[LABELING_DATASET],
        )
    },
    "/api/labeling/{dataset_id}/me": {
        "get": labeling_operation(
            "Your progress, gold accuracy (as last reported) and pause",
            "Accuracy on check questions counts completed groups of 10 check answers and is "
            "updated every 25 answers, so no single answer can be read from it.",
            {"200": json_response(ref("Progress"), "Your progress.")},
            write=False,
            scope="read",
            operationId="label_me",
            parameters=[LABELING_DATASET],
        )
    },
    "/api/labeling/{dataset_id}/consensus": {
        "get": labeling_operation(
            "Task counts and the latest consensus runs",
            "For DAO admins also `gold_pool`: check questions still servable (`open`), the "
            "holds left on them (`slots`), the holds the open ordinary work will draw at the "
            "gold rate (`needed`) and `low` when fewer than 20 are open or `slots` < `needed`. "
            "Each check question is retired after as many labelers as an ordinary item.",
            {"200": json_response(ref("ConsensusSummary"), "The summary.")},
            write=False,
            scope="read",
            operationId="consensus_summary",
            parameters=[LABELING_DATASET],
        ),
        "post": labeling_operation(
            "Queue a whole-dataset consensus run (DAO admins)",
            "Asking while a run is queued or running returns that run.",
            {"202": json_response(ref("ConsensusRun"), "The queued (or active) run.")},
            write=True,
            scope="label",
            operationId="consensus_request",
            parameters=[LABELING_DATASET],
            requestBody={
                "required": False,
                "content": {
                    JSON: {
                        "schema": closed(
                            {"method": {"type": "string", "enum": ["ds", "mv"], "default": "ds"}},
                            optional=("method",),
                        )
                    }
                },
            },
        ),
    },
    "/api/labeling/{dataset_id}/review": {
        "get": labeling_operation(
            "The review queue: settled items least confident first (reviewers, DAO admins)",
            "Settled items whose answer no reviewer has made final, check questions left out, "
            "by ascending posterior, with the consensus and the labels' answers (no labeler "
            "named). Items you labeled are left out: another reviewer reviews them. Pass a "
            "page's `next` as `after` for the following page.",
            {"200": json_response(ref("ReviewQueue"), "One page of the queue.")},
            write=False,
            scope="read",
            operationId="review_queue",
            parameters=[
                LABELING_DATASET,
                query("after", STRING, "The `next` cursor of the previous page."),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    "Items per page.",
                ),
            ],
        )
    },
    **{
        f"/api/labeling/{{dataset_id}}/review/{{task_id}}/{decision}": {
            "post": labeling_operation(
                summary,
                description
                + " `settlement` (as listed in the queue) refuses the decision (409) when the "
                "item was labeled again and settled anew since. One review per settlement; "
                "you may not review an item you labeled (403).",
                {"201": json_response(ref("Review"), "The review, recorded with who and when.")},
                write=True,
                scope="label",
                operationId=f"review_{decision}",
                parameters=[LABELING_DATASET, path_id("task_id", "settled item (from the queue)")],
                requestBody={
                    "required": decision == "fix",
                    "content": {JSON: {"schema": closed(body, optional=optional)}},
                },
            )
        }
        for decision, summary, description, body, optional in (
            (
                "accept",
                "Accept a settled item's answer as final (reviewers, DAO admins)",
                "A whole-dataset consensus run leaves a final answer as it is.",
                {"settlement": INTEGER},
                ("settlement",),
            ),
            (
                "fix",
                "Replace a settled item's answer with yours, final (reviewers, DAO admins)",
                "`answer` in the format of a label (see the submit operation). Each labeler of "
                "the item is scored against it as on a check question: those it overturns "
                "lose reputation as for a failed one.",
                {"answer": ref("Answer"), "settlement": INTEGER},
                ("settlement",),
            ),
            (
                "reject",
                "Send a settled item back for more labels (reviewers, DAO admins)",
                "Reopened for `more` labels (1 to 10, default 1) by adaptive redundancy; it "
                "settles anew and joins the queue again. You are never handed it to label.",
                {"more": {"type": "integer", "minimum": 1, "maximum": 10}, "settlement": INTEGER},
                ("more", "settlement"),
            ),
        )
    },
    "/api/labeling/{dataset_id}/imports": {
        "post": labeling_operation(
            "Queue a bulk import of items from CSV or JSON Lines (DAO admins)",
            "Poll GET /api/labeling/imports/{id} for progress. Columns or keys per task type: "
            "`id` (optional, makes re-imports idempotent) and `gold` (optional) always; "
            "classification `text`, `cid` or the row's own columns; boxes `cid` and "
            "`width`/`height` where known; spans `text`; pairwise `prompt`, `left_id`, `left`, "
            "`right_id`, `right` (JSON Lines also `left`/`right` as `{id, text}`); text `cid` "
            "and `media_type`. Gold answers take the type's answer shape (JSON in a CSV cell "
            "for boxes and spans); bad rows are counted and named by line.",
            {
                "202": json_response(ref("LabelImport"), "Queued."),
            },
            write=True,
            scope="upload",
            # Django parses the multipart body itself: one it cannot parse is its HTML 400.
            bad_request={
                "description": "refused or bad_label (no file, an empty file, an unknown "
                "format), or a multipart body Django cannot parse (its HTML page).",
                "content": {JSON: {"schema": ref("Error")}, HTML: {"schema": STRING}},
            },
            operationId="label_import_create",
            parameters=[LABELING_DATASET],
            requestBody={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "format": {
                                    "type": "string",
                                    "enum": ["csv", "jsonl"],
                                    "description": "Default: from the file name (.jsonl, "
                                    ".ndjson), else csv.",
                                },
                                "kind": {
                                    "type": "string",
                                    "enum": ["items", "predictions"],
                                    "description": "items (default): new items. predictions: "
                                    "pre-labels for existing items, JSON Lines of {id | "
                                    "external_id, prediction, model_version?, score?}.",
                                },
                            },
                            "required": ["file"],
                        }
                    }
                },
            },
        )
    },
    "/api/labeling/{dataset_id}/prediction-endpoint": {
        "get": labeling_operation(
            "The dataset's model server for pre-labels, and its run (DAO admins)",
            "`endpoint` null when none is registered. Its token is never shown (`token`: "
            "whether one is set), nor the URL's query. `open_items_without_prediction`: the "
            "open items a run would still ask about.",
            {"200": json_response(ref("PredictionEndpointStatus"), "The endpoint.")},
            write=False,
            scope="read",
            operationId="prediction_endpoint_detail",
            parameters=[LABELING_DATASET],
        ),
        "post": labeling_operation(
            "Register or replace the dataset's model server, and start a run (DAO admins)",
            "A run POSTs the open items without a pre-label, `batch_size` at a time, to `url` "
            '(JSON `{"dataset", "task_type", "labels", "multi_choice", "items": [{"id", '
            '"kind", "data"}]}`, with `Authorization: Bearer <token>` when one is set) and '
            'stores the answer `{"predictions": [{"id", "prediction", "model_version"?, '
            '"score"?}]}` as pre-labels, each checked against its item like a label: a bad '
            "one is counted and named in `refusals`, never stored. A failed batch is tried "
            "again after a delay, then the run stops (`failed`, `last_error`). The URL may not "
            "reach this platform's own network (loopback, private, link-local addresses) "
            "unless the operator allows it; the token is stored encrypted.",
            {"201": json_response(ref("PredictionEndpointStatus"), "Registered; run queued.")},
            write=True,
            scope="label",
            bad_request=error(
                "refused or url_refused: no url, a URL that is not http(s), carries "
                "credentials or reaches a private address, a token that is not printable "
                "ASCII without spaces (at most 1000 characters), batch_size not 1 to 500."
            ),
            operationId="prediction_endpoint_set",
            parameters=[LABELING_DATASET],
            requestBody={
                "required": True,
                "content": {
                    JSON: {
                        "schema": closed(
                            {
                                "url": {"type": "string", "maxLength": 2000},
                                "token": nullable({"type": "string", "maxLength": 1000}),
                                "batch_size": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 500,
                                    "default": 50,
                                },
                            },
                            optional=("token", "batch_size"),
                        )
                    }
                },
            },
        ),
        "delete": labeling_operation(
            "Remove the dataset's model server (DAO admins)",
            "Its sealed token goes with it; the pre-labels it gave stay. 204 also when none "
            "was registered.",
            {"204": {"description": "Removed."}},
            write=True,
            scope="label",
            operationId="prediction_endpoint_remove",
            parameters=[LABELING_DATASET],
        ),
    },
    "/api/labeling/{dataset_id}/prediction-endpoint/run": {
        "post": labeling_operation(
            "Ask the model server again about every open item without a pre-label (DAO admins)",
            "After new items, or a failed run. A run under way is left as it is. 409 when no "
            "endpoint is registered.",
            {"202": json_response(ref("PredictionEndpointStatus"), "The run, queued.")},
            write=True,
            scope="label",
            operationId="prediction_run_request",
            parameters=[LABELING_DATASET],
        )
    },
    "/api/labeling/imports/{import_id}": {
        "get": labeling_operation(
            "Status and progress of a bulk import (DAO admins)",
            "",
            {"200": json_response(ref("LabelImport"), "The import.")},
            write=False,
            scope="read",
            operationId="label_import_detail",
            parameters=[path_id("import_id", "import")],
        )
    },
    "/api/labeling/{dataset_id}/export.csv": {
        "get": labeling_operation(
            "Settled tasks with consensus, posterior and raw labels, as CSV (DAO admins)",
            "Streamed.",
            {"200": binary("text/csv", "The export, as an attachment.")},
            write=False,
            scope="read",
            operationId="label_export_csv",
            parameters=[
                LABELING_DATASET,
                query("gold", STRING, "`1` adds the gold (check) tasks."),
            ],
        )
    },
    "/api/labeling/{dataset_id}/export/{fmt}": {
        "get": labeling_operation(
            "The settled consensus in the task type's formats (DAO admins)",
            "classification: `csv`, `jsonl` (as export.csv / export.jsonl); boxes: `coco` (COCO "
            "detection JSON), `yolo` (a zip of YOLO label files, `classes.txt` and "
            "`images.csv`); spans: `jsonl`, `conll` (BIO tags over whitespace tokens); "
            "pairwise: `jsonl` (one line per comparison, then one per candidate with its "
            "Bradley–Terry score, best first); text: `jsonl`. A format of another type is "
            "refused (400), naming the dataset's.",
            {
                "200": {
                    "description": "The export, as an attachment.",
                    "content": {
                        media: {"schema": {"type": "string", "format": "binary"}}
                        for media in (
                            "text/csv",
                            "application/x-ndjson",
                            "application/json",
                            "application/zip",
                            "text/plain",
                        )
                    },
                    "headers": {"Content-Disposition": {"$ref": "#/components/headers/Attachment"}},
                }
            },
            write=False,
            scope="read",
            operationId="label_export",
            parameters=[
                LABELING_DATASET,
                {
                    "name": "fmt",
                    "in": "path",
                    "required": True,
                    "description": "The export format.",
                    "schema": {"type": "string", "enum": ["csv", "jsonl", "coco", "yolo", "conll"]},
                },
                query("gold", STRING, "`1` adds the gold (check) tasks."),
            ],
        )
    },
    "/api/labeling/{dataset_id}/export.jsonl": {
        "get": labeling_operation(
            "The same export as JSON Lines (DAO admins)",
            "Streamed.",
            {"200": binary("application/x-ndjson", "The export, as an attachment.")},
            write=False,
            scope="read",
            operationId="label_export_jsonl",
            parameters=[
                LABELING_DATASET,
                query("gold", STRING, "`1` adds the gold (check) tasks."),
            ],
        )
    },
}
