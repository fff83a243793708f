"""JSON API for contributions. Thin: authenticate, parse, call a service or selector, serialize.

Authentication: the browser session (CSRF-protected) or ``Authorization: Bearer dd_…``
(an API token; no cookies, so no CSRF). Every refusal is a 4xx with
``{"error": code, "detail": message}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from contributions import selectors
from contributions.errors import ContributionRefused
from contributions.models import Contribution, Status
from contributions.services import contribution_receive, dataset_max_size
from contributions.tokens import api_token_create, user_from_bearer
from contributions.uploads import HashingUploadHandler
from datadao.models import User

# Multipart framing (boundaries, headers, the signature field) on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PAGE_SIZE = 100
# Keeps OFFSET within PostgreSQL's bigint: a larger page would be a 500, not an empty page.
MAX_PAGE = 10**9


def _error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def _session_user(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None


def _user(request: HttpRequest) -> User | None:
    return user_from_bearer(request) or _session_user(request)


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
    return data


@csrf_exempt
def upload(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``POST /api/datasets/{id}/contributions`` (multipart: ``file``, optional ``signature``):
    store one file as a contribution and queue it for validation. 201 with the contribution.

    The body is streamed to disk and hashed as it arrives; it is cut off as soon as it passes
    the dataset's size limit (413), before anything is kept.
    """
    if request.method != "POST":
        return _error("method_not_allowed", "Use POST with a multipart body.", 405)
    # Resolved once: a token lookup is a query plus a last-used update.
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    user = user_from_bearer(request) if bearer else _session_user(request)
    if bearer and user is None:
        return _error("unauthenticated", "The API token is unknown or revoked.", 401)
    dataset = selectors.dataset_for_upload(dataset_id=dataset_id, user=user)
    if dataset is None:
        return _error("not_found", f"There is no dataset {dataset_id} you can see.", 404)
    max_size = dataset_max_size(dataset)
    if not request.META.get("CONTENT_LENGTH"):
        # Django reads a body only up to its Content-Length; without one (a chunked upload)
        # it would see an empty body and answer a misleading "attach a file".
        return _error(
            "length_required",
            "Send the upload with a Content-Length header (chunked bodies are not accepted).",
            411,
        )
    try:
        declared = int(request.META["CONTENT_LENGTH"])
    except ValueError:
        return _error("bad_request", "Content-Length is not a number.", 400)
    if declared > max_size + MULTIPART_OVERHEAD:
        return _error(
            "too_large", f"The file is larger than this dataset's limit of {max_size} bytes.", 413
        )
    handler = HashingUploadHandler(request, max_size=max_size)
    request.upload_handlers = [handler]
    if bearer:
        return _receive(request, dataset.pk, handler, user)
    # Session users: CSRF is checked only now, after our upload handler is installed.
    return csrf_protect(lambda r: _receive(r, dataset.pk, handler, user))(request)


def _receive(
    request: HttpRequest, dataset_id: int, handler: HashingUploadHandler, user: User | None
) -> HttpResponse:
    if user is None:
        return _error("unauthenticated", "Sign in, or send an API token (Bearer dd_…).", 401)
    try:
        signature = request.POST.get("signature", "").strip()
        request.FILES  # noqa: B018 - parsing the body runs the upload handler
    except MultiPartParserError as exc:
        handler.cleanup()
        return _error("bad_request", f"The multipart body could not be parsed: {exc}", 400)
    except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig):
        # Django's own caps on form fields; a file staged before the cap was hit must go too.
        handler.cleanup()
        return _error(
            "bad_request",
            "The multipart body has too many or too large form fields: send one 'file' "
            "and, optionally, a 'signature'.",
            400,
        )
    if handler.refusal is not None:
        refusal = handler.refusal
        return _error(refusal.code, refusal.message, refusal.status_code)
    if handler.unfinished:
        handler.cleanup()
        return _error(
            "bad_request",
            "The multipart body ended in the middle of the file: it is shorter than its "
            "Content-Length says, or the upload was cut off.",
            400,
        )
    if len(handler.files) != 1:
        handler.cleanup()
        return _error("no_file", "Attach exactly one file in a multipart field named 'file'.", 400)
    try:
        contribution = contribution_receive(
            dataset_id=dataset_id, contributor=user, staged=handler.files[0], signature=signature
        )
    except ContributionRefused as exc:
        return _error(exc.code, exc.message, exc.status_code)
    return JsonResponse(serialize(contribution), status=201)


@require_GET
def contribution_list(request: HttpRequest) -> HttpResponse:
    """``GET /api/contributions?dataset=&status=&page=&page_size=``: your contributions."""
    user = _user(request)
    if user is None:
        return _error("unauthenticated", "Sign in, or send an API token (Bearer dd_…).", 401)
    try:
        page = max(1, int(request.GET.get("page", 1)))
        size = min(MAX_PAGE_SIZE, max(1, int(request.GET.get("page_size", 25))))
        dataset = int(request.GET["dataset"]) if request.GET.get("dataset") else None
    except ValueError:
        return _error("bad_request", "page, page_size and dataset must be whole numbers.", 400)
    if page > MAX_PAGE:
        return _error("bad_request", f"page must be at most {MAX_PAGE}.", 400)
    status = request.GET.get("status") or None
    if status is not None and status not in Status.values:
        # Checked here, not left to the query: PostgreSQL refuses a NUL byte with a 500.
        allowed = ", ".join(Status.values)
        return _error("bad_request", f"status must be one of {allowed}.", 400)
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


@require_GET
def contribution_detail(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/contributions/{id}``: status, scores, reasons, CID, validation report."""
    contribution = _visible(request, contribution_id)
    if isinstance(contribution, HttpResponse):
        return contribution
    return JsonResponse(serialize(contribution, detail=True))


@require_GET
def contribution_proof(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/contributions/{id}/proof``: the EIP-712 proof as ``eth_signTypedData_v4``
    JSON plus signature and signer, downloadable."""
    contribution = _visible(request, contribution_id)
    if isinstance(contribution, HttpResponse):
        return contribution
    proof = getattr(contribution, "proof", None)
    if proof is None:
        return _error("no_proof", "This contribution has not been attested yet.", 404)
    body = json.dumps(
        {"typedData": proof.typed_data, "signature": proof.signature, "signer": proof.signer},
        indent=2,
    )
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="contribution-{contribution.pk}-proof.json"'
    )
    return response


def _visible(request: HttpRequest, contribution_id: int) -> Contribution | HttpResponse:
    user = _user(request)
    if user is None:
        return _error("unauthenticated", "Sign in, or send an API token (Bearer dd_…).", 401)
    try:
        return selectors.contribution_for_user(contribution_id=contribution_id, user=user)
    except PermissionDenied:
        return _error("not_found", f"There is no contribution {contribution_id} you can see.", 404)


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """``POST /api/tokens`` (signed-in session, CSRF): create an API token, shown once."""
    if not request.user.is_authenticated:
        return _error("unauthenticated", "Sign in with your wallet first.", 401)
    name = request.POST.get("name", "") or "cli"
    if "\x00" in name:
        # PostgreSQL cannot store a NUL byte: refused here rather than failing as a 500.
        return _error("bad_request", "name must not contain NUL characters.", 400)
    token, plain = api_token_create(user=request.user, name=name)
    return JsonResponse({"id": token.pk, "name": token.name, "token": plain}, status=201)
