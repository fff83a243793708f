"""Aggregate queries over a release, without download (``contributions.aggregate``).

``release_query_submit`` checks who asks and the SQL, and queues the query; a worker runs it
(``release_query_run``) over the release's rows in a locked-down DuckDB, refuses a result with
a group under ``QUERY_MIN_GROUP_ROWS`` rows, and signs what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contributions import query_access
from contributions.aggregate import attest, engine, guard
from contributions.errors import QueryNotAllowed, QueryRefusedError
from contributions.models import Release, ReleaseQuery
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.keys import load_signer
from datadao.models import DatasetKind, Membership, User, Visibility


def member_policy(user: User, release: Release) -> str | None:
    """Members of the release's DAO query it; anyone signed in queries a public one (its rows
    are downloadable anyway)."""
    if release.dataset.visibility == Visibility.PUBLIC:
        return "public"
    if Membership.objects.filter(dao_id=release.dataset.dao_id, user=user).exists():
        return "member"
    return None


# A user's queries waiting at once; deliveries of one query before it is refused.
MAX_QUEUED_PER_USER = 5
MAX_ATTEMPTS = 3


def min_group_rows() -> int:
    return int(getattr(settings, "QUERY_MIN_GROUP_ROWS", 5))


def max_release_bytes() -> int:
    return int(getattr(settings, "QUERY_MAX_RELEASE_BYTES", 1 << 30))


@transaction.atomic
def release_query_submit(*, release: Release, user: User, sql: str) -> ReleaseQuery:
    """Queue ``sql`` over ``release`` for ``user``. Refuses (``QueryNotAllowed``, 404) one who
    may not query it, (``QueryRefusedError``, 400) a non-tabular release and SQL the guard
    refuses (``contributions.aggregate.guard``)."""
    basis = query_access.basis_for(user, release)
    if basis is None:
        raise QueryNotAllowed(
            Detail(
                "You may not query this release: members of its DAO and "
                "holders of a query grant may."
            )
        )
    if release.dataset.kind != DatasetKind.TABULAR:
        raise QueryRefusedError(
            Detail(
                "'%(name)s' is a %(kind)s dataset; queries run over tabular releases only.",
                name=release.dataset.name,
                kind=release.dataset.kind,
            )
        )
    limit = max_release_bytes()
    if release.total_bytes > limit:
        raise QueryRefusedError(
            Detail(
                "This release holds %(total_bytes)s bytes; queries run over "
                "releases of up to %(limit)s bytes (QUERY_MAX_RELEASE_BYTES).",
                total_bytes=release.total_bytes,
                limit=limit,
            )
        )
    try:
        guard.check(sql)
    except guard.QueryRefused as exc:
        raise QueryRefusedError(str(exc)) from None
    waiting = ReleaseQuery.objects.filter(requested_by=user, state=ReleaseQuery.State.QUEUED)
    if waiting.count() >= MAX_QUEUED_PER_USER:
        raise QueryRefusedError(
            Detail(
                "You have %(max_queued_per_user)s queries waiting; wait for one to finish.",
                max_queued_per_user=MAX_QUEUED_PER_USER,
            ),
            code="too_many_queries",
            status_code=429,
        )
    query = ReleaseQuery.objects.create(
        release=release, requested_by=user, basis=basis, sql=sql, min_group_rows=min_group_rows()
    )
    send_on_commit("contributions.tasks.run_release_query", query.pk)
    return query


def release_query_run(*, query_id: int, table_of: Callable[[Release], Any]) -> ReleaseQuery | None:
    """Run a queued query over ``table_of(release)`` (``selectors.release_query_table``) and
    record its signed result or its refusal; None when it is gone or already finished (a
    redelivery)."""
    query = _begin(query_id)
    if query is None:
        return None
    if query.attempts > MAX_ATTEMPTS:
        return _finish(
            query_id,
            state=ReleaseQuery.State.REFUSED,
            refusal=f"The query could not be run in {MAX_ATTEMPTS} attempts (its worker stopped).",
        )
    release = query.release
    try:
        checked = guard.check(query.sql)
        result = engine.run(checked, table_of(release), k=query.min_group_rows).as_json()
    except guard.QueryRefused as exc:
        return _finish(query_id, state=ReleaseQuery.State.REFUSED, refusal=str(exc))
    dao = release.dataset.dao
    payload = attest.typed_data(
        dao_id=dao.onchain_id,
        chain_id=dao.chain_id,
        release_cid=release.cid,
        sql=query.sql,
        result=result,
        k=query.min_group_rows,
    )
    from contributions.attestation import sign

    signer = load_signer("validator")
    return _finish(
        query_id,
        state=ReleaseQuery.State.DONE,
        result=result,
        typed_data=payload,
        signature=sign(payload, signer),
        signer=signer.address,
    )


@transaction.atomic
def _begin(query_id: int) -> ReleaseQuery | None:
    """Count a delivery of a queued query (committed before it runs, so a delivery that kills
    its worker still counts)."""
    query = (
        ReleaseQuery.objects.select_for_update(of=("self",))
        .select_related("release__dataset__dao")
        .filter(pk=query_id, state=ReleaseQuery.State.QUEUED)
        .first()
    )
    if query is not None:
        query.attempts += 1
        query.save(update_fields=["attempts"])
    return query


@transaction.atomic
def _finish(query_id: int, **fields: Any) -> ReleaseQuery | None:
    query = (
        ReleaseQuery.objects.select_for_update()
        .filter(pk=query_id, state=ReleaseQuery.State.QUEUED)
        .first()
    )
    if query is None:
        return None
    for name, value in fields.items():
        setattr(query, name, value)
    query.finished_at = timezone.now()
    query.save()
    return query


def release_queries_stuck(cutoff: Any, limit: int) -> list[int]:
    return list(
        ReleaseQuery.objects.filter(state=ReleaseQuery.State.QUEUED, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
