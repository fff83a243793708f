"""JSON API of data rights: a consumer's grants and purchases, a contributor's read counts,
and a DAO's grants, sales and payments. Session only (API tokens are refused: these move
money and access, and each write is a person's act in the console or on their page). Thin:
parse, call one service or selector, serialize. Refusals are ``{"error", "detail"}``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from eth_utils import is_address, to_checksum_address

from contributions.attestation import dataset_id_bytes32
from contributions.models import Release
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.models import DAO, Dataset
from rights import grant712, selectors, services
from rights.models import AccessGrant, Purchase, Scope

MAX_BODY = 64 * 1024
# How long a grant drafted in the console lasts unless the admin says otherwise, and at most.
DEFAULT_DAYS = 30
MAX_DAYS = 3650


def serialize_grant(grant: AccessGrant) -> dict[str, Any]:
    release = grant.release
    return {
        "id": grant.pk,
        "dao": grant.dao.slug,
        "grantee": grant.grantee,
        "dataset": grant.dataset_id,
        "dataset_name": grant.dataset.name,
        "release": release.cid if release is not None else None,
        "release_version": release.version if release is not None else None,
        "scope": grant.scope,
        "expires_at": grant.expires_at.isoformat(),
        "status": selectors.grant_status(grant),
        "nonce": str(grant.nonce),
        "signer": grant.signer,
        "signature": grant.signature,
        "purchase": grant.purchase_id,
        "created_at": grant.created_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
        "download": _download_url(grant),
    }


def _download_url(grant: AccessGrant) -> str | None:
    """Where the grantee downloads: the release manifest (which lists every contribution's
    CID, each under /ipfs/ too), or the dataset's latest release."""
    if grant.scope != Scope.DOWNLOAD:
        return None
    release = grant.release or (
        Release.objects.filter(dataset_id=grant.dataset_id).order_by("-version").first()
    )
    return f"/ipfs/{release.cid}" if release is not None else None


def serialize_purchase(purchase: Purchase) -> dict[str, Any]:
    return {
        "id": purchase.pk,
        "dataset": purchase.dataset_id,
        "consumer": purchase.consumer.address,
        "amount": str(purchase.amount),
        "payment_address": purchase.payment_address,
        "tx_hash": purchase.tx_hash,
        "status": purchase.status,
        "created_at": purchase.created_at.isoformat(),
        "confirmed_at": purchase.confirmed_at.isoformat() if purchase.confirmed_at else None,
        "grant": getattr(getattr(purchase, "grant", None), "pk", None),
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    return json_object(request, max_body=MAX_BODY)


def _unauthenticated() -> JsonResponse:
    return json_error("unauthenticated", Detail("Sign in with your wallet first."), 401)


def _managed_dao(request: HttpRequest, slug: str) -> DAO | JsonResponse:
    if not request.user.is_authenticated:
        return _unauthenticated()
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    if not selectors.is_manager(user=request.user, dao_id=dao.pk):
        return json_error(
            "not_admin", Detail("Only a creator or admin of this DAO may do this."), 403
        )
    return dao


# --- consumers and contributors ------------------------------------------------------------------


@never_cache
@require_GET
def my_grants(request: HttpRequest) -> HttpResponse:
    """``GET /api/me/grants``: what the signed-in wallet may use: its grants (dataset or
    release, scope, expiry, status, download link) and its purchases."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    return JsonResponse(
        {
            "grants": [serialize_grant(g) for g in selectors.grants_of(user=request.user)],
            "purchases": [serialize_purchase(p) for p in selectors.purchases_of(user=request.user)],
        }
    )


@never_cache
@require_GET
def my_reads(request: HttpRequest) -> HttpResponse:
    """``GET /api/me/reads``: how often each of your contributions was read through this site,
    and by how many readers; and the reads of releases that list your contributions."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    return JsonResponse(
        {
            "results": selectors.contributor_read_counts(user=request.user),
            "releases": selectors.contributor_release_reads(user=request.user),
        }
    )


@require_POST
def purchase_create(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``POST /api/datasets/{id}/purchases`` with ``{"tx_hash"}`` (CSRF): ask for paid access
    to a dataset for sale, naming the transaction that paid its price; an admin confirms it."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    body = _body(request)
    dataset = Dataset.objects.select_related("dao").filter(pk=dataset_id).first()
    if dataset is None:
        return json_error(
            "not_for_sale",
            Detail("There is no dataset %(dataset_id)s for sale.", dataset_id=dataset_id),
            404,
        )
    purchase = services.purchase_request(
        dataset=dataset, consumer=request.user, tx_hash=body.get("tx_hash")
    )
    return JsonResponse(serialize_purchase(purchase), status=201)


# --- a DAO's admins ---------------------------------------------------------------------------


@require_POST
def offer_set(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``POST /api/datasets/{id}/offer`` with ``{"price", "payment_address"?}`` (CSRF): put a
    members-only dataset up for sale; ``price`` in the token's smallest unit as a decimal
    string, paid to ``payment_address`` or the DAO's distributor. Creators and admins only."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    dataset = Dataset.objects.select_related("dao").filter(pk=dataset_id).first()
    if dataset is None or not selectors.is_manager(user=request.user, dao_id=dataset.dao_id):
        return json_error(
            "not_found",
            Detail("There is no dataset %(dataset_id)s you manage.", dataset_id=dataset_id),
            404,
        )
    body = _body(request)
    price, address = body.get("price"), body.get("payment_address") or ""
    if not isinstance(price, str) or not price.isascii() or not price.isdigit() or len(price) > 78:
        return json_error(
            "bad_price", Detail("price must be a whole number as a decimal string."), 400
        )
    if not isinstance(address, str):
        return json_error("bad_payment_address", Detail("payment_address must be an address."), 400)
    offer = services.offer_set(
        dataset=dataset, actor=request.user, price=int(price), payment_address=address
    )
    return JsonResponse(
        {
            "dataset": dataset.pk,
            "price": str(offer.price),
            "payment_address": offer.payment_address,
        }
    )


@never_cache
@require_GET
def grant_draft(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET /api/daos/{slug}/grants/draft?grantee=&dataset=&release=&scope=&days=``: the
    ``AccessGrant`` typed data for an admin to sign with eth_signTypedData_v4, with a fresh
    random nonce. Creators and admins only."""
    dao = _managed_dao(request, slug)
    if isinstance(dao, JsonResponse):
        return dao
    query = request.GET
    grantee = query.get("grantee", "")
    if not is_address(grantee):
        return json_error("bad_address", Detail("grantee: required, an Ethereum address."), 400)
    dataset_pk = query.get("dataset", "")
    dataset = (
        Dataset.objects.filter(dao=dao, pk=int(dataset_pk)).first()
        if dataset_pk.isascii() and dataset_pk.isdigit() and len(dataset_pk) < 10
        else None
    )
    if dataset is None:
        return json_error(
            "unknown_dataset", Detail("dataset: the id of a dataset of this DAO."), 400
        )
    release_cid = query.get("release", "")
    if release_cid and not Release.objects.filter(dataset=dataset, cid=release_cid).exists():
        return json_error("unknown_release", Detail("release: the CID of a release of it."), 400)
    scope = query.get("scope", Scope.DOWNLOAD)
    if scope not in Scope.values:
        return json_error("bad_scope", Detail("scope must be download or query."), 400)
    days = query.get("days", str(DEFAULT_DAYS))
    if not days.isascii() or not days.isdigit() or len(days) > 4 or not 1 <= int(days) <= MAX_DAYS:
        return json_error(
            "bad_days",
            Detail("days must be a whole number, 1 to %(max_days)s.", max_days=MAX_DAYS),
            400,
        )
    expires = timezone.now() + timedelta(days=int(days))
    grant = grant712.Grant(
        grantee=to_checksum_address(grantee),
        dao_id=dao.onchain_id,
        dataset_id=dataset_id_bytes32(dataset.pk),
        release_cid=release_cid,
        scope=scope,
        expires_at=int(expires.timestamp()),
        nonce=secrets.randbits(128),
    )
    return JsonResponse({"typedData": grant712.typed_data(grant, chain_id=dao.chain_id)})


@require_http_methods(["GET", "POST"])
def dao_grants(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET /api/daos/{slug}/grants``: the DAO's grants (creators and admins).
    ``POST`` with ``{"typedData", "signature", "purchase"?}`` (CSRF): record a grant signed
    by a creator or admin of the DAO; anyone signed in may submit it, the signature is the
    authority. 201 with the grant."""
    if request.method == "GET":
        dao = _managed_dao(request, slug)
        if isinstance(dao, JsonResponse):
            return dao
        return JsonResponse(
            {"results": [serialize_grant(g) for g in selectors.dao_grants(dao_id=dao.pk)]}
        )
    if not request.user.is_authenticated:
        return _unauthenticated()
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    body = _body(request)
    purchase = body.get("purchase")
    if purchase is not None and (
        isinstance(purchase, bool) or not isinstance(purchase, int) or not 0 < purchase < 2**31
    ):
        return json_error(
            "bad_request", Detail("purchase must be the id of a confirmed purchase."), 400
        )
    grant = services.grant_record(
        dao=dao,
        typed_data=body.get("typedData"),
        signature=body.get("signature"),
        actor=request.user,
        purchase_id=purchase,
    )
    return JsonResponse(serialize_grant(grant), status=201)


@require_POST
def grant_revoke(request: HttpRequest, slug: str, grant_id: int) -> HttpResponse:
    """``POST /api/daos/{slug}/grants/{id}/revoke`` (CSRF): revoke a grant; it stops working
    at the next request. Creators and admins only."""
    dao = _managed_dao(request, slug)
    if isinstance(dao, JsonResponse):
        return dao
    grant = AccessGrant.objects.filter(dao=dao, pk=grant_id).first()
    if grant is None:
        return json_error(
            "not_found", Detail("This DAO has no grant %(grant_id)s.", grant_id=grant_id), 404
        )
    return JsonResponse(serialize_grant(services.grant_revoke(grant=grant, actor=request.user)))


@never_cache
@require_GET
def dao_purchases(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET /api/daos/{slug}/purchases``: purchases of the DAO's datasets, newest first
    (creators and admins)."""
    dao = _managed_dao(request, slug)
    if isinstance(dao, JsonResponse):
        return dao
    return JsonResponse(
        {"results": [serialize_purchase(p) for p in selectors.dao_purchases(dao_id=dao.pk)]}
    )


@require_POST
def purchase_confirm(request: HttpRequest, slug: str, purchase_id: int) -> HttpResponse:
    """``POST /api/daos/{slug}/purchases/{id}/confirm`` with ``{"tx_hash"}`` (CSRF): confirm by
    hand that the transaction paid the price (audited); then sign the grant. Creators and
    admins only."""
    dao = _managed_dao(request, slug)
    if isinstance(dao, JsonResponse):
        return dao
    purchase = Purchase.objects.filter(dataset__dao=dao, pk=purchase_id).first()
    if purchase is None:
        return json_error(
            "not_found",
            Detail("This DAO has no purchase %(purchase_id)s.", purchase_id=purchase_id),
            404,
        )
    body = _body(request)
    confirmed = services.purchase_confirm(
        purchase=purchase, actor=request.user, tx_hash=body.get("tx_hash")
    )
    return JsonResponse(serialize_purchase(confirmed))
