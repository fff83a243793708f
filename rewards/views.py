"""Contributor pages and downloads for rewards: allocations with proofs, vouchers."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from eth_abi import encode as abi_encode
from eth_utils import keccak

from datadao.errors import Detail
from datadao.http import json_error
from datadao.models import DAO, MANAGER_ROLES, Membership
from datadao.paging import Page, page_request
from rewards.models import Allocation, Voucher
from rewards.selectors import (
    RoyaltyCredit,
    allocations_of,
    claim_states,
    clawbacks_of,
    rewards_accrued,
    royalty_credits,
    voucher_states,
    vouchers_of,
)
from rewards.tree_store import allocation_proof, allocation_proofs
from rewards.units import format_amount, format_units


def _owner_or_manager(request: HttpRequest, address: str, dao_id: int) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    if user.address == address or user.is_superuser:
        return True
    return Membership.objects.filter(dao_id=dao_id, user=user, role__in=MANAGER_ROLES).exists()


def allocation_claim(allocation: Allocation, proof: list[str] | None = None) -> dict[str, Any]:
    """Everything a wallet needs to call ``claim(epoch, amount, proof)``, and to check first
    that ``contract`` is this DAO's (its ``daoId()`` must equal ``daoId``).

    ``amount`` is the integer in the token's smallest unit, as a decimal string (what the
    contract takes); ``amountTokens`` and ``display`` are the same amount for people. A DAO
    with no reward contract yet gets ``contractMissing`` (why, and what to do) instead of
    ``contract``: never a null a wallet could mistake for an address. ``proof``: the
    allocation's proof when the caller read it already (``allocation_proofs`` of a page).
    """
    epoch = allocation.epoch
    dao = epoch.dao
    amount = int(allocation.amount)
    claim: dict[str, Any] = {
        "dao": dao.slug,
        "daoId": dao.onchain_id,
        "epoch": epoch.number,
        "root": epoch.root,
        "account": allocation.account,
        "amount": str(amount),
        "amountTokens": format_units(amount, dao.token_decimals),
        "token": {"symbol": dao.token_symbol, "decimals": dao.token_decimals},
        "display": format_amount(amount, dao.token_decimals, dao.token_symbol),
        "proof": allocation_proof(allocation) if proof is None else proof,
        "treeIndex": allocation.tree_index,
        "chainId": dao.chain_id,
    }
    if dao.reward_contract_address:
        claim["contract"] = dao.reward_contract_address
    else:
        claim["contractMissing"] = (
            f"{dao.name} has not configured a reward contract yet, so this claim cannot be "
            "submitted on chain yet; keep it: it stays valid, and the DAO's admins set the "
            "contract in the console."
        )
    claim["dumpCid"] = epoch.dump_cid
    return claim


# claim(uint256,uint256,bytes32[]): the distributor's selector for a Merkle claim.
CLAIM_SELECTOR = keccak(text="claim(uint256,uint256,bytes32[])")[:4]


def claim_call_data(allocation: Allocation, proof: list[str] | None = None) -> str:
    """The calldata of ``claim(epoch, amount, proof)`` for this allocation: the page's claim
    button hands it to the member's wallet (EIP-1193 ``eth_sendTransaction``), which shows and
    signs it; the contract pays only ``msg.sender``'s leaf, so nobody else can use it."""
    nodes = allocation_proof(allocation) if proof is None else proof
    encoded = abi_encode(
        ["uint256", "uint256", "bytes32[]"],
        [allocation.epoch.number, int(allocation.amount), [bytes.fromhex(p[2:]) for p in nodes]],
    )
    return "0x" + (CLAIM_SELECTOR + encoded).hex()


def _not_found(what: str, pk: int) -> JsonResponse:
    # A JSON API answers refusals in the API's shape, not with the site's HTML 404 page; the
    # same answer whether the object is missing or someone else's, so neither leaks.
    detail = f"There is no {what} {pk} you can see (downloads need the signed-in session)."
    return JsonResponse({"error": "not_found", "detail": detail}, status=404)


def _download(body: dict[str, Any], filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def allocation_download(request: HttpRequest, allocation_id: int) -> HttpResponse:
    """``GET /api/rewards/allocations/{id}``: the claim data (amount + Merkle proof)."""
    allocation = Allocation.objects.select_related("epoch__dao").filter(pk=allocation_id).first()
    if allocation is None or not _owner_or_manager(
        request, allocation.account, allocation.epoch.dao_id
    ):
        return _not_found("allocation", allocation_id)
    name = f"{allocation.epoch.dao.slug}-epoch-{allocation.epoch.number}-claim.json"
    body = allocation_claim(allocation)
    state = claim_states([allocation])[allocation.pk]
    body["onchain"] = {
        "state": state.state,
        "txHash": state.tx_hash,
        "rootOnChain": state.root_on_chain,
    }
    return _download(body, name)


@require_GET
def voucher_download(request: HttpRequest, voucher_id: int) -> HttpResponse:
    """``GET /api/rewards/vouchers/{id}``: the ``eth_signTypedData_v4`` payload + signature."""
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None or not _owner_or_manager(request, voucher.contributor, voucher.dao_id):
        return _not_found("voucher", voucher_id)
    body = {
        "typedData": voucher.typed_data,
        "signature": voucher.signature,
        "signer": voucher.signer,
    }
    return _download(body, f"voucher-{voucher.pk}.json")


@login_required
@require_GET
def my_rewards(request: HttpRequest) -> HttpResponse:
    """Accrued in open epochs, settled per epoch with claim data to copy or download,
    vouchers, and clawbacks (why, and what is still kept back); every amount in tokens."""
    allocations = (
        Allocation.objects.filter(account=request.user.address)
        .select_related("epoch__dao")
        .order_by("-epoch__closed_at")[:200]
    )
    vouchers = (
        Voucher.objects.filter(contributor=request.user.address)
        .select_related("dao")
        .order_by("-created_at")[:200]
    )
    allocations = list(allocations)
    states = claim_states(allocations)
    proofs = allocation_proofs(allocations)
    rows = [
        (a, json.dumps(allocation_claim(a, p), indent=1), states.get(a.pk), claim_call_data(a, p))
        for a, p in zip(allocations, proofs, strict=True)
    ]
    vouchers = list(vouchers)
    redeemed = voucher_states(vouchers)
    context = {
        "rows": rows,
        "vouchers": [(v, redeemed[v.pk]) for v in vouchers],
        "accrued": rewards_accrued(account=request.user),
        "royalties": royalty_credits(account=request.user),
        "clawbacks": clawbacks_of(account=request.user),
    }
    return render(request, "rewards/mine.html", context)


def royalty_json(credit: RoyaltyCredit) -> dict[str, Any]:
    """A royalty credit for the API: amounts as decimal strings of the token's smallest unit
    (``display`` in tokens for people), the payment it came from and the share it is."""
    dao = credit.dao
    return {
        "dao": dao.slug,
        "dataset": credit.dataset_name,
        "payment": {
            "key": credit.payment_key,
            "amount": str(credit.payment_amount),
            "releaseCid": credit.release_cid,
            "creditedAt": credit.paid_at.isoformat(),
        },
        "part": "treasury" if credit.treasury else "contributor",
        "score": credit.score,
        "totalScore": credit.total_score,
        "shareBps": credit.share_bps,
        "amount": str(credit.amount),
        "display": format_amount(credit.amount, dao.token_decimals, dao.token_symbol),
        "epoch": credit.epoch_number,
        "settled": credit.settled,
        # Reversed by an upheld challenge of the work that earned it (withdrawn or clawed back).
        "reversed": str(credit.reversed),
    }


@require_GET
def my_royalties(request: HttpRequest) -> HttpResponse:
    """``GET /api/rewards/royalties``: the signed-in person's royalty credits, newest first
    (at most 200): each data consumer's payment they came from, their score over the
    release's, and their exact part; the treasury address sees the treasury's parts."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in to see your royalties."), 401)
    credits = royalty_credits(account=request.user)
    return JsonResponse({"royalties": [royalty_json(c) for c in credits]})


# --- lists: how a script finds the ids the downloads above take --------------------------------


def _dao_filter(request: HttpRequest) -> DAO | JsonResponse | None:
    slug = request.GET.get("dao", "")
    if not slug:
        return None
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        # DAOs are public (the directory lists them all): naming the slug leaks nothing.
        return json_error("not_found", Detail("There is no DAO %(slug)s.", slug=slug[:80]), 404)
    return dao


def allocation_summary(allocation: Allocation, state: Any) -> dict[str, Any]:
    """An allocation as the list shows it; ``claimUrl`` gives the amount and Merkle proof."""
    epoch, dao = allocation.epoch, allocation.epoch.dao
    amount = int(allocation.amount)
    return {
        "id": allocation.pk,
        "dao": dao.slug,
        "epoch": epoch.number,
        "account": allocation.account,
        "amount": str(amount),
        "display": format_amount(amount, dao.token_decimals, dao.token_symbol),
        "closedAt": epoch.closed_at.isoformat() if epoch.closed_at else None,
        "state": state.state,
        "rootOnChain": state.root_on_chain,
        "claimUrl": f"/api/rewards/allocations/{allocation.pk}",
    }


def voucher_summary(voucher: Voucher, state: Any) -> dict[str, Any]:
    """A voucher as the list shows it; ``voucherUrl`` gives the signed typed data."""
    dao = voucher.dao
    amount = int(voucher.amount)
    return {
        "id": voucher.pk,
        "dao": dao.slug,
        "contributor": voucher.contributor,
        "amount": str(amount),
        "display": format_amount(amount, dao.token_decimals, dao.token_symbol),
        "nonce": str(int(voucher.nonce)),
        "deadline": voucher.deadline,
        "createdAt": voucher.created_at.isoformat(),
        "state": state.state,
        "voucherUrl": f"/api/rewards/vouchers/{voucher.pk}",
    }


def _page(key: str, page: Page[Any], rows: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse({key: rows, "next": page.next})


@require_GET
def my_allocations(request: HttpRequest) -> HttpResponse:
    """``GET /api/rewards/allocations?dao=&after=&limit=``: the signed-in person's epoch
    allocations, newest first, a keyset page at a time, with whether each is claimed. Only
    their own (a DAO's admins read others' one id at a time, as before). Session only."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in to see your allocations."), 401)
    dao = _dao_filter(request)
    if isinstance(dao, JsonResponse):
        return dao
    page = allocations_of(account=request.user, dao=dao, page=page_request(request.GET))
    states = claim_states(page.items)
    return _page("allocations", page, [allocation_summary(a, states[a.pk]) for a in page.items])


@require_GET
def my_vouchers(request: HttpRequest) -> HttpResponse:
    """``GET /api/rewards/vouchers?dao=&after=&limit=``: the vouchers made out to the
    signed-in person, newest first, a keyset page at a time, with whether each is redeemed.
    Only their own. Session only."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in to see your vouchers."), 401)
    dao = _dao_filter(request)
    if isinstance(dao, JsonResponse):
        return dao
    page = vouchers_of(account=request.user, dao=dao, page=page_request(request.GET))
    states = voucher_states(page.items)
    return _page("vouchers", page, [voucher_summary(v, states[v.pk]) for v in page.items])
