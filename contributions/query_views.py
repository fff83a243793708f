"""``/api/releases/{cid}/queries`` and ``/api/queries/{id}``: aggregate queries without
download. Thin: the service checks who asks and the SQL; a worker runs it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from contributions import query_access
from contributions.errors import QueryRefusedError
from contributions.models import Release, ReleaseQuery
from contributions.services.queries import release_query_submit
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.tokenscopes import TokenScope, token_scope

MAX_BODY = 16 * 1024


def serialize_query(query: ReleaseQuery) -> dict[str, Any]:
    return {
        "id": query.pk,
        "release": query.release.cid,
        "sql": query.sql,
        "state": query.state,
        "min_group_rows": query.min_group_rows,
        "result": query.result,
        "refusal": query.refusal or None,
        "attestation": (
            {"typedData": query.typed_data, "signature": query.signature, "signer": query.signer}
            if query.signature
            else None
        ),
        "created_at": query.created_at.isoformat(),
        "finished_at": query.finished_at.isoformat() if query.finished_at else None,
        "url": reverse("api-query", args=[query.pk]),
    }


def _sql(request: HttpRequest) -> str:
    body = json_object(
        request,
        max_body=MAX_BODY,
        refuse=lambda code, detail, status: QueryRefusedError(detail),
        media_type=Detail('Send the body as application/json: {"sql": "…"}.'),
        empty={},
        not_object=Detail('Send {"sql": "SELECT … FROM data …"}.'),
    )
    sql = body.get("sql")
    if not isinstance(sql, str):
        raise QueryRefusedError(Detail('Send {"sql": "SELECT … FROM data …"}.'))
    return sql


@token_scope(TokenScope.READ)
@require_POST
def release_queries(request: HttpRequest, cid: str) -> HttpResponse:
    """``POST``: queue an aggregate query over the release; 202 with where to poll."""
    if not request.user.is_authenticated:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    release = Release.objects.select_related("dataset__dao").filter(cid=cid).first()
    if release is None or query_access.basis_for(request.user, release) is None:
        # The same answer for a release one may not query: its existence does not leak.
        return json_error(
            "not_found", Detail("There is no release with this CID you may query."), 404
        )
    query = release_query_submit(release=release, user=request.user, sql=_sql(request))
    return JsonResponse(serialize_query(query), status=202)


@token_scope(TokenScope.READ)
@require_GET
def query_detail(request: HttpRequest, query_id: int) -> HttpResponse:
    """``GET``: one of your queries: its state, and its signed result or why it was refused."""
    if not request.user.is_authenticated:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    query = (
        ReleaseQuery.objects.select_related("release")
        .filter(pk=query_id, requested_by=request.user)
        .first()
    )
    if query is None:
        return json_error(
            "not_found", Detail("You have no query %(query_id)s.", query_id=query_id), 404
        )
    return JsonResponse(serialize_query(query))
