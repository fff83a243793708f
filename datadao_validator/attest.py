"""One validator's verdict on one contribution, from its bytes alone, and its signature.

The verdict is the fleet's own (``contributions.validator.replay``, the code the platform's
validator version names): the file validates against the dataset's schema, and its combined
score reaches the dataset's threshold. Uniqueness, which depends on what the dataset held when
the contribution was scored, is the platform's record, signed as given; the CID is recomputed
from the bytes unless the platform stores them sealed (then the plaintext served cannot
give it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from contributions.attestation import BPS, ProofFields, attestation_typed_data, sign
from contributions.validator import VALIDATOR_VERSION, replay
from ipfs.unixfs import import_stream

MAX_REASONS = 10


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cid(path: Path) -> str:
    with path.open("rb") as stream:
        return str(import_stream(stream, cid_version=1).cid)


def verdict(item: Mapping[str, Any], path: Path, *, perturb_score: int = 0) -> dict[str, Any]:
    """What this validator finds: ``accepted``, ``cid``, the signed scores and any reasons.

    ``perturb_score`` (tests only: ``--test-perturb-score``) adds that many basis points to
    the score, to play a validator out of line."""
    dataset = item["dataset"]
    cid = item["cid"] if item.get("sealed") else _cid(path)
    uniqueness = int(item.get("uniqueness") or 0)
    found: dict[str, Any] = {
        "accepted": False,
        "cid": cid,
        "score": 0,
        "quality": 0,
        "uniqueness": uniqueness,
        "reasons": [],
    }
    sha = _sha256(path)
    if sha != item["sha256"]:
        found["reasons"] = [f"the bytes served hash to {sha}, not the listed {item['sha256']}"]
        return found
    replayed = replay(
        path,
        kind=dataset["kind"],
        schema=dataset["schema"],
        scoring_policy_=dataset["scoring"],
        signed=bool(item["signed"]),
    )
    if not replayed.accepted:
        found["reasons"] = list(replayed.reasons)[:MAX_REASONS]
        return found
    score = min(BPS, max(0, replayed.scores["score"] + perturb_score))
    threshold = int(dataset["scoring"]["threshold"])
    found |= {"score": score, "quality": replayed.scores["quality"]}
    if score < threshold:
        found["reasons"] = [f"combined score {score} is below the threshold {threshold}"]
        return found
    found["accepted"] = True
    return found


def signed_attestation(
    item: Mapping[str, Any], found: dict[str, Any], account: LocalAccount
) -> dict[str, Any]:
    """The body to post: the ``ValidatorAttestation`` message and ``account``'s signature."""
    fields = ProofFields(
        dao_id=item["dao"]["dao_id"],
        dataset_pk=int(item["dataset"]["id"]),
        contributor=item["contributor"],
        cid=found["cid"],
        sha256=item["sha256"],
        score=found["score"],
        quality=found["quality"],
        uniqueness=found["uniqueness"],
        validator_version=VALIDATOR_VERSION,
    )
    payload = attestation_typed_data(
        fields,
        accepted=found["accepted"],
        validator=account.address,
        chain_id=int(item["dao"]["chain_id"]),
    )
    return {
        "attestation": payload["message"],
        "signature": sign(payload, account),
        "reasons": found["reasons"],
    }
