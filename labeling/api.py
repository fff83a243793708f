"""JSON API for labeling. Thin: authenticate, parse, call a service or selector, serialize.

Authentication as in the contributions API: the browser session (CSRF-protected for writes)
or ``Authorization: Bearer dd_…`` with the scope the endpoint declares (``label`` for the
work, ``read`` for progress and exports, ``upload`` for bulk imports), checked by
``contributions.token_auth``. Every refusal is a 4xx ``{"error": code, "detail": …}``.

Blind by construction: a task is handed out as a *hold* (an opaque id per labeler and task)
with the item and the label set only; no response before submission carries another
labeler's label, a label count or whether the task is a gold question, and no response after
it either: progress moves alike for every item and gold accuracy only at report points
(``labeling.conf``), and undo works alike for every item.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from contributions.token_auth import request_token
from datadao import observe
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.models import Dataset, User
from datadao.tokenscopes import TokenScope, token_scope
from labeling import (
    errors,
    export,
    export_types,
    prelabel_selectors,
    selectors,
    services,
    suggestion_draw,
)
from labeling.conf import LabelingSettings, labeling_settings
from labeling.errors import LabelingRefused
from labeling.models import Assignment, ImportKind, LabelImport
from labeling.services import predict
from labeling.services import review as review_services
from labeling.services.access import (
    is_manager,
    labeling_dataset,
    require_manager,
    require_reviewer,
)

MAX_BODY = 64 * 1024


Handler = Callable[..., HttpResponse]


def endpoint(**scopes: str) -> Callable[[Handler], Handler]:
    """The methods the view takes, each with the token scope it needs
    (``@endpoint(GET=TokenScope.READ)``). Resolve the caller, check the method (and CSRF for
    session writes), and turn refusals into 4xx JSON."""
    methods = tuple(scopes)

    def wrap(view: Handler) -> Handler:
        @token_scope(**scopes)
        @csrf_exempt
        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return json_error(
                    "method_not_allowed", Detail("Use %(names)s.", names=" or ".join(methods)), 405
                )
            # A token was authenticated and its scope checked by ApiTokenMiddleware.
            bearer = request_token(request) is not None
            user = request.user if request.user.is_authenticated else None

            def call(req: HttpRequest) -> HttpResponse:
                if user is None:
                    return json_error(
                        "unauthenticated", "Sign in, or send an API token (Bearer dd_…).", 401
                    )
                try:
                    return view(req, user, *args, **kwargs)
                except errors.NotAllowed as exc:
                    dataset_id = kwargs.get("dataset_id")
                    if _hidden(dataset_id, user):
                        # "Only members may…" would confirm that a members-only dataset exists.
                        raise errors.NotFound(
                            Detail(
                                "There is no labeling dataset %(dataset_id)s.",
                                dataset_id=dataset_id,
                            )
                        ) from exc
                    raise

            if request.method not in ("GET", "HEAD") and not bearer:
                return csrf_protect(call)(request)
            return call(request)

        return inner

    return wrap


def _hidden(dataset_id: int | None, user: User) -> bool:
    """Whether the dataset is one ``user`` may not see: a members-only dataset answers them as
    one that does not exist. Asked on refusals only, so it costs the work path nothing."""
    if dataset_id is None:
        return False
    dataset = Dataset.objects.filter(pk=dataset_id).only("pk", "dao_id", "visibility").first()
    return dataset is not None and not selectors.may_view(dataset, user)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    return json_object(request, max_body=MAX_BODY, refuse=_labeling_refused, empty={})


def _labeling_refused(code: str, detail: Detail, status: int) -> LabelingRefused:
    return LabelingRefused(detail)  # labeling's own code and status for every refusal


def serialize_item(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The item as a labeler sees it: an image or audio URL (with the image's size where
    known), a text, a row, or a pair's prompt and two candidates."""
    item: dict[str, Any] = {"kind": kind}
    if kind == "image":
        item["image_url"] = f"/ipfs/{payload.get('cid', '')}"
        if payload.get("width") and payload.get("height"):
            item["width"], item["height"] = payload["width"], payload["height"]
    elif kind == "audio":
        item["audio_url"] = f"/ipfs/{payload.get('cid', '')}"
    elif kind == "text":
        item["text"] = payload.get("text", "")
    elif kind == "pair":
        item["prompt"] = payload.get("prompt", "")
        for side in ("left", "right"):
            candidate = payload.get(side) or {}
            item[side] = {"id": str(candidate.get("id", "")), "text": candidate.get("text", "")}
    else:
        item["row"] = payload
    return item


def _rules(conf: LabelingSettings) -> dict[str, Any]:
    """What a labeler must know to answer: whether spans may overlap, whether a tie is
    allowed. Thresholds of check questions stay on the server."""
    if conf.task_type == "spans":
        return {"overlapping": conf.overlapping}
    if conf.task_type == "pairwise":
        return {"allow_tie": conf.allow_tie}
    return {}


def serialize_hold(hold: Assignment) -> dict[str, Any]:
    task = hold.task
    conf = labeling_settings(task.dataset.schema)
    return {
        "hold": hold.pk,
        "expires_at": hold.expires_at.isoformat(),
        "task_type": conf.task_type,
        "item": serialize_item(task.kind, task.payload),
        "labels": list(conf.labels),
        "multi_choice": conf.multi_choice,
        "rules": _rules(conf),
        # Always present (null: none shown), so a check question's response has the same shape.
        "suggestion": suggestion_draw.hold_suggestion(hold, conf),
    }


@observe.timed("next")
@endpoint(GET=TokenScope.LABEL)
def next_task(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``GET /api/labeling/{dataset}/next``: hold the next task for you (or your live hold).
    ``{"task": null, "detail": …}`` when nothing is left for you."""
    hold = services.task_next(dataset_id=dataset_id, labeler=user)
    progress = selectors.labeler_progress(dataset_id=dataset_id, labeler=user)
    if hold is None:
        return JsonResponse(
            {
                "task": None,
                "detail": "Nothing left for you to label here right now. Thank you!",
                "progress": progress,
            }
        )
    return JsonResponse({"task": serialize_hold(hold), "progress": progress})


@observe.timed("submit")
@endpoint(POST=TokenScope.LABEL)
def submit(request: HttpRequest, user: User, dataset_id: int, hold_id: int) -> HttpResponse:
    """``POST /api/labeling/{dataset}/holds/{hold}/label`` ``{"label": …, "duration_ms": …}``:
    a label name (a list for multi-choice), a list of boxes or spans, ``left``/``right``/
    ``tie``, or a transcription, as the dataset's task type asks (``labeling.answers``)."""
    body = _json_body(request)
    if "label" not in body:
        raise LabelingRefused(
            Detail(
                'Send the answer as {"label": …}: a label name (a list for multi-choice), a list '
                "of boxes or spans, left/right/tie, or the transcription."
            )
        )
    duration = body.get("duration_ms", 0)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        raise LabelingRefused(Detail("duration_ms must be a whole number of milliseconds."))
    label = services.label_submit(
        dataset_id=dataset_id,
        labeler=user,
        hold_id=hold_id,
        value=body["label"],
        duration_ms=duration,
    )
    return JsonResponse(
        {
            "label": {"hold": hold_id, "value": label.value, "at": label.created_at.isoformat()},
            "progress": selectors.labeler_progress(dataset_id=dataset_id, labeler=user),
        },
        status=201,
    )


@endpoint(POST=TokenScope.LABEL)
def skip(request: HttpRequest, user: User, dataset_id: int, hold_id: int) -> HttpResponse:
    """``POST /api/labeling/{dataset}/holds/{hold}/skip``: give the task back."""
    services.task_skip(dataset_id=dataset_id, labeler=user, hold_id=hold_id)
    return JsonResponse({"skipped": hold_id})


@endpoint(POST=TokenScope.LABEL)
def undo(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``POST /api/labeling/{dataset}/undo``: take back your last answer (within a minute)."""
    hold = services.label_undo(dataset_id=dataset_id, labeler=user)
    return JsonResponse({"task": serialize_hold(hold)})


@endpoint(GET=TokenScope.READ)
def me(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``GET /api/labeling/{dataset}/me``: your progress, gold accuracy (as last reported),
    pause."""
    if not selectors.may_view(labeling_dataset(dataset_id), user):
        raise errors.NotFound(
            Detail("There is no labeling dataset %(dataset_id)s.", dataset_id=dataset_id)
        )
    return JsonResponse(selectors.labeler_progress(dataset_id=dataset_id, labeler=user))


@endpoint(GET=TokenScope.READ, POST=TokenScope.LABEL)
def consensus(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``GET /api/labeling/{dataset}/consensus``: the latest run's metrics, and for DAO admins
    the gold pool (``open`` check questions still servable, their free ``slots``, the slots
    the open ordinary work will draw at the gold rate (``needed``), and ``low``). ``POST``
    ``{"method": "ds"|"mv"}`` (DAO admins): queue a whole-dataset run (202)."""
    if request.method == "POST":
        body = _json_body(request)
        run = services.consensus_run_request(
            dataset_id=dataset_id, actor=user, method=str(body.get("method", "ds"))
        )
        return JsonResponse(selectors.serialize_run(run), status=202)
    dataset = labeling_dataset(dataset_id)
    if not selectors.may_view(dataset, user):
        raise errors.NotFound(
            Detail(
                "There is no labeling dataset %(dataset_id)s you can see.", dataset_id=dataset_id
            )
        )
    return JsonResponse(selectors.dataset_summary(dataset, manager=is_manager(dataset, user)))


@endpoint(POST=TokenScope.UPLOAD)
def import_create(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``POST /api/labeling/{dataset}/imports`` (multipart ``file``; DAO admins): queue a bulk
    import of items from CSV or JSON Lines, or with ``kind=predictions`` of pre-labels for
    existing items (JSON Lines, ``labeling.prelabel_import``). 202 with the import; poll it
    for progress."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, user)
    upload = request.FILES.get("file")
    if upload is None:
        raise LabelingRefused(Detail("Attach the CSV or JSON Lines file in a field named 'file'."))
    job = services.label_import_upload(
        dataset_id=dataset_id,
        actor=user,
        upload=upload,
        fmt=request.POST.get("format"),
        kind=request.POST.get("kind") or ImportKind.ITEMS,
    )
    return JsonResponse(selectors.serialize_import(job), status=202)


@endpoint(GET=TokenScope.READ)
def import_detail(request: HttpRequest, user: User, import_id: int) -> HttpResponse:
    """``GET /api/labeling/imports/{id}``: status and progress of a bulk import."""
    job = LabelImport.objects.select_related("dataset__dao").filter(pk=import_id).first()
    if job is None or not selectors.may_view(job.dataset, user):
        raise errors.NotFound(Detail("There is no import %(import_id)s.", import_id=import_id))
    require_manager(job.dataset, user)
    return JsonResponse(selectors.serialize_import(job))


@endpoint(GET=TokenScope.READ)
def export_labels(request: HttpRequest, user: User, dataset_id: int, fmt: str) -> HttpResponse:
    """``GET /api/labeling/{dataset}/export.csv|.jsonl`` (DAO admins): settled tasks with
    consensus, posterior, raw labels and review (accepted, fixed, sent back or none), streamed.
    ``?gold=1`` adds the gold tasks."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, user)
    gold = request.GET.get("gold") == "1"
    if fmt == "csv":
        body = export.iter_csv(dataset.pk, include_gold=gold)
        content_type = "text/csv; charset=utf-8"
    else:
        body = export.iter_jsonl(dataset.pk, include_gold=gold)
        content_type = "application/x-ndjson; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{dataset.slug}-labels.{fmt}"'
    return response


@endpoint(GET=TokenScope.READ)
def export_typed(request: HttpRequest, user: User, dataset_id: int, fmt: str) -> HttpResponse:
    """``GET /api/labeling/{dataset}/export/{format}`` (DAO admins): the settled consensus in
    the formats of the dataset's task type: classification ``csv``, ``jsonl`` (as
    ``export.csv``/``.jsonl``); boxes ``coco``, ``yolo``; spans ``jsonl``, ``conll``;
    pairwise ``jsonl`` (the comparisons, then every candidate's fitted score); text ``jsonl``.
    Each item says how it was reviewed (``export_types.review_state``). ``?gold=1`` adds the
    gold tasks."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, user)
    conf = labeling_settings(dataset.schema)
    formats = export_types.FORMATS.get(conf.task_type, ())
    if fmt not in formats:
        raise LabelingRefused(
            Detail(
                "Unknown export format %(fmt)s: a %(task_type)s dataset exports as %(names)s.",
                fmt=repr(fmt[:40]),
                task_type=conf.task_type,
                names=" or ".join(formats),
            )
        )
    gold = request.GET.get("gold") == "1"
    if conf.typed:
        body: Any = export_types.render(conf, dataset.pk, fmt, include_gold=gold)
    else:
        rows = export.iter_csv if fmt == "csv" else export.iter_jsonl
        body = rows(dataset.pk, include_gold=gold)
    response = StreamingHttpResponse(body, content_type=export_types.CONTENT_TYPES[fmt])
    name = f"{dataset.slug}-{conf.task_type}.{export_types.EXTENSIONS[fmt]}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- review -----------------------------------------------------------------------------------


@endpoint(GET=TokenScope.READ)
def review_queue(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``GET /api/labeling/{dataset}/review?after=…&limit=…`` (reviewers, admins, the
    creator): settled items not yet reviewed, least confident first, with the consensus, its
    posterior and the labels' answers (no labeler named); ``next`` is the ``after`` of the
    following page (null at the end). Items you labeled are left out."""
    dataset = labeling_dataset(dataset_id)
    require_reviewer(dataset, user)
    try:
        after = selectors.parse_review_cursor(request.GET.get("after"))
        limit = int(request.GET.get("limit", selectors.REVIEW_PAGE))
    except ValueError as exc:
        raise LabelingRefused(
            Detail("'after' must be a page's 'next' cursor and 'limit' a whole number.")
        ) from exc
    page = selectors.review_queue(dataset_id=dataset.pk, reviewer=user, after=after, limit=limit)
    conf = labeling_settings(dataset.schema)
    return JsonResponse(
        {
            "task_type": conf.task_type,
            "labels": list(conf.labels),
            "multi_choice": conf.multi_choice,
            "rules": _rules(conf),
            "items": [
                {
                    "id": task.pk,
                    "settlement": task.settlements,
                    "item": serialize_item(task.kind, task.payload),
                    "consensus": task.consensus,
                    "posterior": task.posterior,
                    "answers": page.answers[task.pk],
                }
                for task in page.items
            ],
            "next": page.cursor,
        }
    )


def _settlement(body: dict[str, Any]) -> int | None:
    value = body.get("settlement")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise LabelingRefused(
            Detail("'settlement' must be the item's settlement number, as listed.")
        )
    return value


@endpoint(POST=TokenScope.LABEL)
def review_decide(
    request: HttpRequest, user: User, dataset_id: int, task_id: int, decision: str
) -> HttpResponse:
    """``POST /api/labeling/{dataset}/review/{item}/accept|fix|reject`` (reviewers, admins,
    the creator): ``accept`` the settled answer; ``fix`` it with ``{"answer": …}`` in the
    task type's answer format (as a labeler's ``label``); ``reject`` it with ``{"more": n}``
    to send it back for n more labels. ``{"settlement": n}`` (as listed) refuses a decision on
    an item that settled anew since. 201 with the review."""
    body = _json_body(request)
    settlement = _settlement(body)
    common = {"dataset_id": dataset_id, "task_id": task_id, "reviewer": user}
    if decision == "accept":
        review = review_services.review_accept(**common, settlement=settlement)
    elif decision == "fix":
        if "answer" not in body:
            raise LabelingRefused(
                Detail('Send the final answer as {"answer": …}, in the format of a label.')
            )
        review = review_services.review_fix(**common, answer=body["answer"], settlement=settlement)
    else:
        review = review_services.review_reject(
            **common, more=body.get("more", 1), settlement=settlement
        )
    return JsonResponse(selectors.serialize_review(review), status=201)


@endpoint(GET=TokenScope.READ, POST=TokenScope.LABEL, DELETE=TokenScope.LABEL)
def prediction_endpoint(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``/api/labeling/{dataset}/prediction-endpoint`` (DAO admins): the dataset's model
    server for pre-labels (``labeling.services.predict``). ``GET``: it and its run (never its
    token). ``POST {"url", "token"?, "batch_size"?}``: register or replace it and start a run
    over the open items without a pre-label (201). ``DELETE``: remove it (204; the pre-labels
    it gave stay)."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, user)
    if request.method == "POST":
        body = _json_body(request)
        predict.prediction_endpoint_set(
            dataset_id=dataset.pk,
            actor=user,
            url=body.get("url"),
            token=body.get("token"),
            batch_size=body.get("batch_size"),
        )
        return JsonResponse(
            prelabel_selectors.serialize_prediction_endpoint(dataset.pk), status=201
        )
    if request.method == "DELETE":
        predict.prediction_endpoint_remove(dataset_id=dataset.pk, actor=user)
        return HttpResponse(status=204)
    return JsonResponse(prelabel_selectors.serialize_prediction_endpoint(dataset.pk))


@endpoint(POST=TokenScope.LABEL)
def prediction_run(request: HttpRequest, user: User, dataset_id: int) -> HttpResponse:
    """``POST /api/labeling/{dataset}/prediction-endpoint/run`` (DAO admins): ask the model
    server again about every open item without a pre-label (after new items, or a failed
    run); a run under way is left as it is. 202."""
    predict.prediction_run_request(dataset_id=dataset_id, actor=user)
    return JsonResponse(prelabel_selectors.serialize_prediction_endpoint(dataset_id), status=202)
