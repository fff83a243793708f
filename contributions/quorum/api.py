"""The validator API: what a DAO's validator, running anywhere with its own key and no
database access, needs. Thin: authenticate the signed request, call a selector or service,
serialize.

Authentication is the request's EIP-191 signature by the validator's key
(``contributions.quorum.auth``): no session and no API token, so no cookie and no CSRF.
Refusals are 4xx ``{"error": code, "detail": message}``: 401 for a missing, stale or wrong
request signature, 403 for an address that is not in the validator set concerned.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from contributions.models import Contribution, Status
from contributions.quorum import errors, selectors, services
from contributions.quorum.auth import request_validator
from contributions.services import contribution_open, contribution_stored_open
from contributions.upload_csrf import csrf_refusal
from datadao.errors import Detail
from datadao.http import json_error
from datadao.labels import label_detail
from datadao.schema import scoring_policy

MAX_ATTESTATION_BYTES = 64 * 1024


def _work_item(c: Contribution) -> dict[str, Any]:
    dataset, dao = c.dataset, c.dataset.dao
    return {
        "id": c.pk,
        "dao": {"slug": dao.slug, "dao_id": dao.onchain_id, "chain_id": dao.chain_id},
        "dataset": {
            "id": dataset.pk,
            "kind": dataset.kind,
            "schema": dataset.schema,
            # With its defaults filled in: the validator must not depend on this code's.
            "scoring": scoring_policy(dataset.scoring),
        },
        "contributor": c.contributor.address,
        "sha256": c.sha256,
        "size": c.size,
        "media_type": c.media_type,
        "signed": c.signed,
        # The CID the platform computed of the stored bytes: a sealed file's ciphertext,
        # which the validator (given the plaintext) cannot recompute.
        "cid": c.cid,
        "sealed": bool(c.sealed_key),
        # Uniqueness compares the file with what the dataset held when it was scored: the
        # platform's record, which the validator signs as given (as a release's replay does).
        "uniqueness": c.uniqueness,
        "validator_version": c.validator_version,
        "content_url": f"/api/validators/contributions/{c.pk}/content",
        # A sealed file's ciphertext, the bytes pinned under ``cid``: the validator hashes
        # them itself before it signs the CID.
        "ciphertext_url": f"/api/validators/contributions/{c.pk}/ciphertext"
        if c.sealed_key
        else None,
        "attestations_url": f"/api/validators/contributions/{c.pk}/attestations",
    }


@csrf_exempt
@require_GET
def work(request: HttpRequest) -> HttpResponse:
    """``GET /api/validators/work``: the contributions waiting for the signing validator's
    attestation in every DAO whose current set lists it (oldest first, at most 50), each with
    what validating and scoring it needs. 403 for an address in no set."""
    validator = request_validator(request)
    dao_ids = selectors.validator_dao_ids(address=validator)
    if not dao_ids:
        raise errors.NotAValidator(
            Detail(
                "%(validator)s is not in any DAO's validator set; a DAO's "
                "creator or admin adds it (console: Validator sets).",
                validator=validator,
            )
        )
    items = [_work_item(c) for c in selectors.contributions_awaiting(address=validator)]
    return JsonResponse({"validator": validator, "contributions": items})


def _contribution_for(validator: str, contribution_id: int) -> Contribution:
    contribution = (
        Contribution.objects.select_related("dataset__dao")
        .filter(pk=contribution_id, withdrawn_at=None)
        .first()
    )
    if contribution is None:
        raise errors.NoSuchContribution(
            Detail("There is no contribution %(contribution_id)s.", contribution_id=contribution_id)
        )
    dao = contribution.dataset.dao
    current = selectors.validator_set_current(dao_id=dao.pk)
    if current is None or validator not in current.members:
        raise errors.NotAValidator(
            Detail(
                "%(validator)s is not in the validator set of %(name)s, the "
                "DAO of contribution %(contribution_id)s.",
                validator=validator,
                name=dao.name,
                contribution_id=contribution_id,
            )
        )
    return contribution


def _with_validators(request: HttpRequest, contribution_id: int) -> Contribution:
    """The contribution, for a validator of its DAO, while it waits for validators or after
    they decided."""
    validator = request_validator(request)
    contribution = _contribution_for(validator, contribution_id)
    if contribution.status not in (Status.ATTESTING, *services.DECIDED):
        raise errors.NotAttesting(
            Detail(
                "Contribution %(contribution_id)s is not waiting for validators (it is %(lower)s).",
                contribution_id=contribution_id,
                lower=label_detail(Status(contribution.status), lower=True),
            )
        )
    return contribution


def _gone(contribution_id: int) -> HttpResponse:
    return json_error(
        "gone",
        Detail(
            "Contribution %(contribution_id)s's file is not stored.",
            contribution_id=contribution_id,
        ),
        410,
    )


@csrf_exempt
@require_GET
def content(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/validators/contributions/{id}/content``: the contribution's bytes as the
    contributor sent them (a sealed file decrypted), to a validator of its DAO while it
    waits for validators or after they decided."""
    contribution = _with_validators(request, contribution_id)
    try:
        stream = contribution_open(contribution)
    except FileNotFoundError:
        return _gone(contribution_id)
    response = FileResponse(stream, content_type="application/octet-stream")
    response["X-Content-SHA256"] = contribution.sha256
    return response


@csrf_exempt
@require_GET
def ciphertext(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``GET /api/validators/contributions/{id}/ciphertext``: a sealed contribution's bytes as
    stored, the ciphertext pinned under its CID, to a validator of its DAO (as ``content``).
    The validator recomputes the CID from them: it signs no CID it has not hashed. 404 for a
    contribution that is not sealed (its content is what the CID addresses)."""
    contribution = _with_validators(request, contribution_id)
    if not contribution.sealed_key:
        raise errors.NoSuchContribution(
            Detail(
                "Contribution %(contribution_id)s is not sealed: its CID addresses its "
                "content (/content).",
                contribution_id=contribution_id,
            )
        )
    try:
        stream = contribution_stored_open(contribution)
    except FileNotFoundError:
        return _gone(contribution_id)
    return FileResponse(stream, content_type="application/octet-stream")


@csrf_exempt
@require_POST
def attestations(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """``POST /api/validators/contributions/{id}/attestations`` with ``{"attestation": the
    ValidatorAttestation message, "signature": its EIP-712 signature, "reasons"?: [...]}``:
    record the signing validator's attestation and decide the quorum. 201 recorded, 200 the
    same attestation again, with the contribution's status after it."""
    if request.user.is_authenticated:
        # The API ignores sessions, but a browser's session never rides a write without CSRF.
        refusal = csrf_refusal(request)
        if refusal is not None:
            return refusal
    validator = request_validator(request)
    if len(request.body) > MAX_ATTESTATION_BYTES:
        return json_error("too_large", Detail("An attestation is at most 64 KiB of JSON."), 413)
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return json_error("bad_json", Detail("The body is not JSON: %(exc)s.", exc=exc), 400)
    if not isinstance(body, dict):
        return json_error("bad_json", Detail("The body must be a JSON object."), 400)
    submitted = services.attestation_submit(
        contribution_id=contribution_id,
        validator=validator,
        message=body.get("attestation"),
        signature=body.get("signature"),
        reasons=body.get("reasons"),
    )
    return JsonResponse(
        {
            "contribution": contribution_id,
            "validator": validator,
            "outcome": submitted.outcome,
            "status": submitted.status,
        },
        status=201 if submitted.outcome == "recorded" else 200,
    )
