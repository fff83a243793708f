"""``/api/datasets/{id}/withdrawal`` and ``/api/withdrawals``: withdrawing consent. Thin: the
service (``services.withdrawal``) checks the signature and applies it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from contributions.errors import WithdrawalRefused
from contributions.models import ConsentWithdrawal, Contribution
from contributions.services.withdrawal import consent_withdraw, consent_withdrawal_offer
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.models import Dataset
from datadao.tokenscopes import TokenScope, token_scope

MAX_BODY = 64 * 1024
MAX_LISTED = 100


def serialize_withdrawal(withdrawal: ConsentWithdrawal) -> dict[str, Any]:
    return {
        "id": withdrawal.pk,
        "dataset": withdrawal.dataset_id,
        "contribution": withdrawal.contribution_id,
        "contributions": withdrawal.withdrawn,
        "derived": withdrawal.derived,
        "created_at": withdrawal.created_at.isoformat(),
        "typedData": withdrawal.typed_data,
        "signature": withdrawal.signature,
    }


def _contribution_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("contribution", "")
    if raw in ("", "all"):
        return None
    if not raw.isdigit() or int(raw) == 0 or len(raw) > 18:
        raise WithdrawalRefused(Detail("contribution must be a contribution id, or 'all'."))
    return int(raw)


def _body(request: HttpRequest) -> tuple[Any, str]:
    body = json_object(
        request,
        max_body=MAX_BODY,
        refuse=lambda code, detail, status: WithdrawalRefused(detail),
        media_type=Detail("Send the body as application/json: {typedData, signature}."),
        empty={},
        not_object=Detail("The body must be a JSON object with typedData and signature."),
    )
    signature = body.get("signature")
    if not isinstance(signature, str) or not signature:
        raise WithdrawalRefused(Detail("signature must be the 0x-hex signature of typedData."))
    return body.get("typedData"), signature


@token_scope(GET=TokenScope.READ, POST=TokenScope.UPLOAD)
@require_http_methods(["GET", "POST"])
def withdrawal(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``GET``: the ``ConsentWithdrawal`` typed data to sign (``?contribution=ID``, or all of
    yours in the dataset). ``POST`` ``{typedData, signature}``: withdraw; 201."""
    if not request.user.is_authenticated:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    dataset = Dataset.objects.select_related("dao").filter(pk=dataset_id).first()
    if (
        dataset is None
        or not Contribution.objects.filter(dataset=dataset, contributor=request.user).exists()
    ):
        # The same answer whether the dataset is missing or only not yours: a members-only
        # dataset's existence does not leak.
        return json_error(
            "not_found",
            Detail("You have no contributions in a dataset %(dataset_id)s.", dataset_id=dataset_id),
            404,
        )
    if request.method == "GET":
        offer = consent_withdrawal_offer(
            dataset=dataset, contributor=request.user, contribution_id=_contribution_param(request)
        )
        return JsonResponse({"typedData": offer})
    typed_data, signature = _body(request)
    done = consent_withdraw(
        dataset=dataset, contributor=request.user, typed_data=typed_data, signature=signature
    )
    return JsonResponse(serialize_withdrawal(done), status=201)


@token_scope(TokenScope.READ)
@require_GET
def withdrawals(request: HttpRequest) -> HttpResponse:
    """``GET /api/withdrawals``: your consent withdrawals, newest first."""
    if not request.user.is_authenticated:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    mine = ConsentWithdrawal.objects.filter(contributor=request.user)
    return JsonResponse(
        {
            "count": mine.count(),
            "results": [serialize_withdrawal(w) for w in mine[:MAX_LISTED]],
        }
    )
