"""JSON API for contributions. Thin: authenticate, parse, call a service or selector, serialize.

Authentication: the browser session (CSRF-protected) or ``Authorization: Bearer dd_…``
(an API token; no cookies, so no CSRF), which ``contributions.token_auth`` checks against the
scope each view declares here before the view runs. Every refusal is a 4xx with
``{"error": code, "detail": message}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from contributions import selectors
from contributions.errors import TooLarge
from contributions.models import Contribution, Status
from contributions.quorum.selectors import attestation_progress
from contributions.services import (
    contribution_admission_check,
    contribution_receive,
    dataset_max_size,
    upload_in_flight_begin,
    upload_in_flight_end,
)
from contributions.token_auth import request_token
from contributions.upload_csrf import csrf_refusal
from contributions.uploads import HashingUploadHandler
from datadao.errors import Detail
from datadao.http import json_error
from datadao.models import User
from datadao.tokenscopes import TokenScope, token_scope

# Multipart framing (boundaries, headers, the signature field) on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PAGE_SIZE = 100
# Keeps OFFSET within PostgreSQL's bigint: a larger page would be a 500, not an empty page.
MAX_PAGE = 10**9


def _session_user(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None


def _user(request: HttpRequest) -> User | None:
    # A token request's user was set by ApiTokenMiddleware, a session's by Django.
    return _session_user(request)


def serialize(contribution: Contribution, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": contribution.pk,
        "dataset": contribution.dataset_id,
        "contributor": contribution.contributor.address,
        "status": contribution.status,
        "sha256": contribution.sha256,
        "size": contribution.size,
        "media_type": contribution.media_type,
        "name": contribution.original_name,
        "signed": contribution.signed,
        "scores": {
            "authenticity": contribution.authenticity,
            "ownership": contribution.ownership,
            "quality": contribution.quality,
            "uniqueness": contribution.uniqueness,
            "score": contribution.score,
        },
        # What a tabular file adds to its dataset and is paid for (``contributions.novelty``).
        "novelty": contribution.report.get("novelty"),
        "reasons": contribution.reasons,
        "review": contribution.review or None,
        "cid": contribution.cid or None,
        "failure": contribution.failure or None,
        "created_at": contribution.created_at.isoformat(),
        "proof_url": f"/api/contributions/{contribution.pk}/proof"
        if hasattr(contribution, "proof")
        else None,
    }
    if detail:
        data["report"] = contribution.report.get("validation", {})
        # While the DAO's validators attest it (or after they could not agree): k of n.
        data["validators"] = attestation_progress(contribution=contribution)
    return data


@token_scope(TokenScope.UPLOAD)
@csrf_exempt
def upload(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``POST /api/datasets/{id}/contributions`` (multipart: ``file``, optional ``signature``):
    store one file as a contribution and queue it for validation. 201 with the contribution.

    No byte of the body is read, let alone written to disk, before the request is known to
    come from a member who may upload here: the token or session, the CSRF token (session
    users: in the ``X-CSRFToken`` header), membership, the dataset's state, the hourly quota
    and the user's bytes in flight are all checked from the headers and the URL first. The body
    is then streamed to disk and hashed as it arrives, cut off as soon as it passes the
    dataset's size limit (413); every way out of the request removes what was staged.
    """
    if request.method != "POST":
        return json_error("method_not_allowed", Detail("Use POST with a multipart body."), 405)
    # A token (already checked for its 'upload' scope by ApiTokenMiddleware) needs no CSRF.
    bearer = request_token(request) is not None
    user = _session_user(request)
    dataset = selectors.dataset_for_upload(dataset_id=dataset_id, user=user)
    if dataset is None:
        return json_error(
            "not_found",
            Detail("There is no dataset %(dataset_id)s you can see.", dataset_id=dataset_id),
            404,
        )
    if user is None:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    if not bearer:
        refusal = csrf_refusal(request)
        if refusal is not None:
            return refusal
    declared = _declared_length(request)
    if isinstance(declared, HttpResponse):
        return declared
    contribution_admission_check(dataset=dataset, contributor=user)
    max_size = dataset_max_size(dataset)
    if declared > max_size + MULTIPART_OVERHEAD:
        raise TooLarge(
            Detail(
                "The file is larger than this dataset's limit of %(max_size)s bytes.",
                max_size=max_size,
            )
        )
    slot = upload_in_flight_begin(user=user, size=declared)
    handler = HashingUploadHandler(request, max_size=max_size)
    request.upload_handlers = [handler]
    try:
        return _receive(request, dataset.pk, handler, user)
    finally:
        # Whatever happened (a refusal, a parse error, a client gone mid-body, a crash in a
        # service), nothing staged outlives the request; a kept file was moved out already.
        handler.cleanup()
        upload_in_flight_end(slot_id=slot)


def _declared_length(request: HttpRequest) -> int | HttpResponse:
    if not request.META.get("CONTENT_LENGTH"):
        # Django reads a body only up to its Content-Length; without one (a chunked upload)
        # it would see an empty body and answer a misleading "attach a file".
        return json_error(
            "length_required",
            Detail(
                "Send the upload with a Content-Length header (chunked bodies are not accepted)."
            ),
            411,
        )
    try:
        return int(request.META["CONTENT_LENGTH"])
    except ValueError:
        return json_error("bad_request", Detail("Content-Length is not a number."), 400)


def _receive(
    request: HttpRequest, dataset_id: int, handler: HashingUploadHandler, user: User
) -> HttpResponse:
    try:
        signature = request.POST.get("signature", "").strip()
        request.FILES  # noqa: B018 - parsing the body runs the upload handler
    except UnreadablePostError:
        return json_error(
            "bad_request",
            Detail("The upload was cut off: the connection ended before the whole body arrived."),
            400,
        )
    except MultiPartParserError as exc:
        return json_error(
            "bad_request", Detail("The multipart body could not be parsed: %(exc)s", exc=exc), 400
        )
    except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig):
        # Django's own caps on form fields.
        return json_error(
            "bad_request",
            Detail(
                "The multipart body has too many or too large form fields: "
                "send one 'file' and, optionally, a 'signature'."
            ),
            400,
        )
    except SuspiciousOperation as exc:
        # A parser that got stuck on a hostile body: Django's own answer would be an HTML page.
        return json_error(
            "bad_request", Detail("The multipart body could not be parsed: %(exc)s", exc=exc), 400
        )
    if handler.refusal is not None:
        raise handler.refusal
    if handler.unfinished:
        return json_error(
            "bad_request",
            Detail(
                "The multipart body ended in the middle of the file: it is "
                "shorter than its Content-Length says, or the upload was cut "
                "off."
            ),
            400,
        )
    if len(handler.files) != 1:
        return json_error(
            "no_file", Detail("Attach exactly one file in a multipart field named 'file'."), 400
        )
    contribution = contribution_receive(
        dataset_id=dataset_id,
        contributor=user,
        staged=handler.files[0],
        signature=signature,
        # The host the contributor uploads to, as sign-in messages name it: the ownership
        # text binds it (a dataset number means another dataset on another instance).
        site=settings.SIWE_DOMAIN or request.get_host(),
    )
    return JsonResponse(serialize(contribution), status=201)


@token_scope(TokenScope.READ)
@require_GET
def contribution_list(request: HttpRequest) -> HttpResponse:
    """``GET /api/contributions?dataset=&status=&page=&page_size=``: your contributions."""
    user = _user(request)
    if user is None:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    try:
        page = max(1, int(request.GET.get("page", 1)))
        size = min(MAX_PAGE_SIZE, max(1, int(request.GET.get("page_size", 25))))
        dataset = int(request.GET["dataset"]) if request.GET.get("dataset") else None
    except ValueError:
        return json_error(
            "bad_request", Detail("page, page_size and dataset must be whole numbers."), 400
        )
    if page > MAX_PAGE:
        return json_error(
            "bad_request", Detail("page must be at most %(max_page)s.", max_page=MAX_PAGE), 400
        )
    status = request.GET.get("status") or None
    if status is not None and status not in Status.values:
        # Checked here, not left to the query: PostgreSQL refuses a NUL byte with a 500.
        allowed = ", ".join(Status.values)
        return json_error(
            "bad_request", Detail("status must be one of %(allowed)s.", allowed=allowed), 400
        )
    items, total = selectors.contributions_of(
        user=user, dataset_id=dataset, status=status, offset=(page - 1) * size, limit=size
    )
    return JsonResponse(
        {
            "count": total,
            "page": page,
            "page_size": size,
            "results": [serialize(c) for c in items],
        }
    )


@token_scope(TokenScope.READ)
@require_GET
def contribution_detail(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/contributions/{id}``: status, scores, reasons, CID, validation report."""
    contribution = _visible(request, contribution_id)
    if isinstance(contribution, HttpResponse):
        return contribution
    return JsonResponse(serialize(contribution, detail=True))


@token_scope(TokenScope.READ)
@require_GET
def contribution_proof(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/contributions/{id}/proof``: the EIP-712 proof as ``eth_signTypedData_v4``
    JSON plus signature and signer (for a DAO with a validator set: each validator's
    attestation signature and the set's version and threshold), downloadable."""
    contribution = _visible(request, contribution_id)
    if isinstance(contribution, HttpResponse):
        return contribution
    proof = getattr(contribution, "proof", None)
    if proof is None:
        return json_error("no_proof", Detail("This contribution has not been attested yet."), 404)
    data: dict[str, Any] = {
        "typedData": proof.typed_data,
        "signature": proof.signature,
        "signer": proof.signer,
    }
    if proof.validator_set_id is not None:
        # Signed by k of the DAO's validators, each over its own ValidatorAttestation.
        data |= {
            "attestations": proof.attestations,
            "validatorSet": {
                "version": proof.validator_set.version,
                "threshold": proof.validator_set.threshold,
            },
        }
    body = json.dumps(data, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="contribution-{contribution.pk}-proof.json"'
    )
    return response


def _visible(request: HttpRequest, contribution_id: int) -> Contribution | HttpResponse:
    user = _user(request)
    if user is None:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    try:
        return selectors.contribution_for_user(contribution_id=contribution_id, user=user)
    except PermissionDenied:
        return json_error(
            "not_found",
            Detail(
                "There is no contribution %(contribution_id)s you can see.",
                contribution_id=contribution_id,
            ),
            404,
        )
