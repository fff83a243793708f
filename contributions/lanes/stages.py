"""The stage lane: one task per stage. Each runner does its stage's slow work and hands the
result to the stage's service (``services.stages``), which records it under the status guard.

``send_next``: whether the service sends the next stage's message (the express lane, which
runs the next stage itself, passes False).
"""

from __future__ import annotations

from contributions import pipeline, sealed, services
from contributions.models import Contribution
from contributions.quorum.selectors import validator_set_current
from contributions.validation import validate_file
from datadao.keys import load_signer
from ipfs.conf import get_backend


def run_validation(contribution: Contribution, *, send_next: bool = True) -> Contribution | None:
    dataset = contribution.dataset
    try:
        with (
            services.contribution_plaintext(contribution) as path,
            services.rows_sidecar_writing(contribution) as sidecar,
        ):
            result = validate_file(
                path, kind=dataset.kind, schema=dataset.schema, row_digest_path=sidecar
            )
    except sealed.Unreadable as exc:
        # Redelivery cannot help a file that does not open: it fails now, saying why.
        return services.contribution_fail(
            contribution_id=contribution.pk,
            stage="validate",
            reason=f"Cannot read the stored file: {exc}.",
        )
    return services.contribution_record_validation(
        contribution_id=contribution.pk,
        accepted=result.accepted,
        media_type=result.media_type or "",
        reasons=result.reasons,
        report=result.report,
        send_next=send_next,
    )


def run_scoring(contribution: Contribution, *, send_next: bool = True) -> Contribution | None:
    scored = pipeline.score(contribution, pipeline.Lookups())
    return services.contribution_record_scores(
        contribution_id=contribution.pk,
        scores=scored.scores,
        threshold=scored.threshold,
        near_duplicate_of=scored.near_duplicate_of,
        row_digests=scored.row_digests,
        fingerprint=scored.fingerprint,
        novelty=scored.novelty,
        fingerprint_horizon=scored.horizon,
        send_next=send_next,
    )


def run_attestation(contribution: Contribution, *, send_next: bool = True) -> Contribution | None:
    # The CID of the stored bytes (a sealed file's ciphertext: what IPFS holds); the proof also
    # names the plaintext's SHA-256.
    with services.contribution_stored(contribution) as stored:
        cid = pipeline.local_cid(stored)
    if validator_set_current(dao_id=contribution.dataset.dao_id) is not None:
        # The DAO's own validators attest it, each with its own key (contributions.quorum).
        return services.contribution_await_validators(
            contribution_id=contribution.pk, cid=cid, send_next=send_next
        )
    signer = load_signer("validator")
    payload, signature = pipeline.proof(contribution, cid, signer)
    return services.contribution_record_attestation(
        contribution_id=contribution.pk,
        cid=cid,
        typed_data=payload,
        signature=signature,
        signer=signer.address,
        send_next=send_next,
    )


def run_pin(contribution: Contribution, *, send_next: bool = True) -> Contribution | None:
    """Add and pin the bytes (a CID already pinned is success); raises IpfsUnavailable."""
    with services.contribution_stored_open(contribution) as stream:
        cid = get_backend().add(stream, cid_version=1, pin=True)
    return services.contribution_record_pin(
        contribution_id=contribution.pk, cid=cid, send_next=send_next
    )


RUNNERS = {
    "validate": run_validation,
    "score": run_scoring,
    "attest": run_attestation,
    "pin": run_pin,
}
