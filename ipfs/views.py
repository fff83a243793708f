"""Serve pinned content by CID, verified against the CID before a byte is sent."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from datadao.tokenscopes import TokenScope, token_scope
from ipfs import unseal
from ipfs.access import is_public, may_read
from ipfs.backends.base import IpfsCorrupt, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid
from ipfs.models import Pin
from ipfs.reads import record
from ipfs.services import content_open_verified


@token_scope(TokenScope.READ)
@require_GET
def serve_cid(request: HttpRequest, cid: str) -> HttpResponse:
    """``/ipfs/<cid>``: the content of a CID this platform pinned.

    User uploads are always sent as attachments with ``nosniff``, so a hostile upload can never
    run as a page of this site. Public content (readable with no session) may be cached by
    anyone; everything else is ``private`` with ``Vary: Cookie``, so a shared cache never hands
    members-only bytes to the next visitor.
    """
    try:
        canonical = str(Cid.parse(cid))
    except ValueError as exc:
        return HttpResponse(f"Not a valid CID: {exc}", status=400, content_type="text/plain")
    pin = Pin.objects.filter(cid__in={cid, canonical}).first()
    public = pin is not None and is_public(pin.label)
    if pin is None or not (public or may_read(request.user, pin.label)):
        return _not_found()
    # Logged before a byte is opened; a log that cannot be written refuses the read (503).
    record(user=request.user, label=pin.label, cid=pin.cid)
    try:
        handle = content_open_verified(cid=pin.cid)
    except IpfsNotFound as exc:
        raise Http404("The content of this CID is missing from the store.") from exc
    except IpfsCorrupt:
        return HttpResponse(
            "The stored content does not match its CID; it will not be served.",
            status=502,
            content_type="text/plain",
        )
    except IpfsUnavailable:
        response = HttpResponse(
            "The IPFS backend is unreachable; try again shortly.",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "30"
        return response
    stored = handle
    try:
        handle = unseal.plaintext(pin.label, pin.cid, handle)
    except unseal.Unopenable as exc:
        return HttpResponse(
            f"The stored content does not open ({exc}); it will not be served.",
            status=502,
            content_type="text/plain",
        )
    response = FileResponse(
        handle, as_attachment=True, filename=pin.cid, content_type=pin.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Bytes under a CID never change. Public content may be kept by any cache; members-only
    # content only by the member's own browser, never by a proxy or CDN that would hand it to
    # the next visitor.
    scope = "public" if public else "private"
    response["Cache-Control"] = f"{scope}, max-age=31536000, immutable"
    if handle is not stored:
        # Decrypted for this reader: not kept in any cache, the browser's included.
        response["Cache-Control"] = "private, no-store"
    if not public:
        patch_vary_headers(response, ("Cookie",))
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _not_found() -> HttpResponse:
    """The one 404 of this view, whether the CID is unknown or the reader may not see it. Not
    cached by anyone: the answer depends on the session and on what gets pinned later."""
    response = HttpResponseNotFound("This CID is not pinned here.", content_type="text/plain")
    response["Cache-Control"] = "private, no-store"
    patch_vary_headers(response, ("Cookie",))
    return response
