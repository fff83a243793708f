"""Sign-In with Ethereum endpoints (JSON). Thin: parse, call a service, serialize."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST
from eth_utils import is_address, to_checksum_address

from datadao.errors import Detail
from datadao.http import json_error
from datadao.signin import SiteOrigin, siwe_authenticate, siwe_message_build, siwe_nonce_issue
from datadao.siwe import SiweError

# Refusals that mean "your message is wrong" (400) versus "you are not who you say" (401).
_UNAUTHORIZED = {
    "bad_signature",
    "wrong_signer",
    "unknown_nonce",
    "replayed_nonce",
    "expired_nonce",
    "nonce_address_mismatch",
    "nonce_chain_mismatch",
    "expired",
    "stale_message",
    "not_yet_valid",
    "inactive",
}
MAX_VERIFY_BODY = 16 * 1024


def _site(request: HttpRequest) -> SiteOrigin:
    return SiteOrigin(
        scheme="https" if request.is_secure() else "http",
        domain=settings.SIWE_DOMAIN or request.get_host(),
    )


@require_GET
@never_cache
@ensure_csrf_cookie
def nonce(request: HttpRequest) -> JsonResponse:
    """``?address=0x…&chain_id=N``: issue a single-use nonce (5 minutes) for that address on
    that chain (the first allowed chain when ``chain_id`` is left out), with the exact EIP-4361
    message to sign, so clients need no SIWE library. Only a message from that address naming
    that chain can use the nonce."""
    address = request.GET.get("address")
    if address is None:
        return json_error(
            "bad_address",
            Detail(
                "address: required; a nonce is issued for one address (0x + 40 hex) and one chain."
            ),
            400,
        )
    if not is_address(address):
        return json_error(
            "bad_address", Detail("address: not an Ethereum address (0x + 40 hex)."), 400
        )
    try:
        chain_id = int(request.GET.get("chain_id", settings.SIWE_ALLOWED_CHAIN_IDS[0]))
    except ValueError:
        return json_error("wrong_chain", Detail("chain_id: must be a whole number."), 400)
    allowed = settings.SIWE_ALLOWED_CHAIN_IDS
    if chain_id not in allowed:
        # The chains go with the refusal so the page can say which one to switch to.
        detail = f"chain_id: {chain_id} is not allowed here; use one of "
        detail += ", ".join(map(str, allowed)) + "."
        return JsonResponse(
            {"error": "wrong_chain", "detail": detail, "chain_ids": allowed}, status=400
        )
    address = to_checksum_address(address)
    issued = siwe_nonce_issue(address=address, chain_id=chain_id)
    site = _site(request)
    return JsonResponse(
        {
            "nonce": issued.nonce,
            "expires_at": issued.expires_at.isoformat(),
            "domain": site.domain,
            "uri": f"{site.origin}/",
            "chain_ids": allowed,
            "address": address,
            "chain_id": chain_id,
            "message": siwe_message_build(
                site=site, address=address, chain_id=chain_id, nonce=issued.nonce
            ),
        }
    )


@require_POST
@never_cache
def verify(request: HttpRequest) -> JsonResponse:
    """Verify ``{"message", "signature"}``; on success sign in (rotating the session key)."""
    if len(request.body) > MAX_VERIFY_BODY:
        return json_error(
            "too_large",
            Detail(
                "The request body is larger than %(max_verify_body)s bytes.",
                max_verify_body=MAX_VERIFY_BODY,
            ),
            413,
        )
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return json_error(
            "bad_request", Detail('The body must be JSON: {"message", "signature"}.'), 400
        )
    if not isinstance(payload, dict):
        return json_error("bad_request", Detail("The body must be a JSON object."), 400)
    message, signature = payload.get("message"), payload.get("signature")
    if not isinstance(message, str) or not isinstance(signature, str):
        return json_error(
            "bad_request", Detail("Both 'message' and 'signature' must be strings."), 400
        )
    try:
        user = siwe_authenticate(text=message, signature=signature, site=_site(request))
    except SiweError as exc:
        return json_error(exc.code, str(exc), 401 if exc.code in _UNAUTHORIZED else 400)
    # login() cycles the session key, so a session id fixed before sign-in is worthless after.
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"address": user.address, "console": _has_console(user)})


def _has_console(user: Any) -> bool:
    from datadao.selectors import user_has_console_access

    return user_has_console_access(user=user)


@require_POST
def logout_view(request: HttpRequest) -> JsonResponse:
    """End the session: the server-side session row is deleted, the old cookie is worthless."""
    logout(request)
    return JsonResponse({"signed_out": True})


@require_GET
@never_cache
def me(request: HttpRequest) -> JsonResponse:
    """Who is signed in (for scripts and the web app)."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"authenticated": False})
    return JsonResponse(
        {"authenticated": True, "address": user.address, "console": _has_console(user)}
    )


@require_POST
def demo_sign_in(request: HttpRequest) -> HttpResponse:
    """Local demo only (``DEMO_SIGN_IN``, which needs DEBUG): sign in as a demo member, whose
    address has no private key, to see the console, claims and labeling as they would."""
    from django.conf import settings
    from django.shortcuts import redirect

    from datadao.demo import DEMO_MEMBERS, demo_address
    from datadao.models import User

    if not settings.DEMO_SIGN_IN:
        raise Http404("Demo sign-in is off.")
    label = request.POST.get("member", "")
    if label not in {m[0] for m in DEMO_MEMBERS} | {"labeler-0"}:
        return json_error(
            "bad_member", Detail("There is no demo member %(label)s.", label=repr(label[:40])), 400
        )
    user = User.objects.filter(address=demo_address(label)).first()
    if user is None:
        return json_error("no_demo", Detail("Load the demo first: python manage.py demo."), 404)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("/admin/" if label == "creator" else "/me/rewards")
