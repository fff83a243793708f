"""One validator's verdict on one contribution, from its bytes alone, and its signature.

The verdict is the fleet's own (``contributions.validator.replay``, the code the platform's
validator version names): the file validates against the dataset's schema, and its combined
score reaches the dataset's threshold. Uniqueness, which depends on what the dataset held when
the contribution was scored, is the platform's record, signed as given. The CID signed is
always one this validator computed: from the bytes, or for a sealed (members-only) file from
the ciphertext the platform stores and pins, which must also be a well-formed sealed stream of
the plaintext's size. A listed CID the ciphertext does not give is refused: the validator
signs a rejection naming both CIDs (the DAO sees it on the contribution), never the listed
one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from contributions.attestation import BPS, ProofFields, attestation_typed_data, sign
from contributions.validator import VALIDATOR_VERSION, replay
from datadao.sealing.stream import structure_problem
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


class NoCiphertext(Exception):
    """A sealed contribution whose ciphertext was not fetched: its CID cannot be checked, so
    nothing is signed."""


def ciphertext_problem(item: Mapping[str, Any], ciphertext: Path) -> tuple[str, str | None]:
    """The CID of a sealed contribution's ciphertext as this validator computes it, and what
    is wrong with the ciphertext (None when nothing): a CID other than the listed one, or
    bytes that are not a sealed stream of the listed plaintext size."""
    cid = _cid(ciphertext)
    if cid != item["cid"]:
        return cid, (
            f"the ciphertext served hashes to CID {cid}, not the listed {item['cid']}: "
            "the listed CID is refused"
        )
    with ciphertext.open("rb") as stream:
        head = stream.read(64)
    problem = structure_problem(head, ciphertext.stat().st_size, int(item["size"]))
    if problem is not None:
        return cid, f"the ciphertext {cid} is not the sealed file of this contribution: {problem}"
    return cid, None


def verdict(
    item: Mapping[str, Any],
    path: Path,
    *,
    ciphertext: Path | None = None,
    perturb_score: int = 0,
) -> dict[str, Any]:
    """What this validator finds: ``accepted``, ``cid``, the signed scores and any reasons.

    ``path`` holds the contribution's plaintext; for a sealed one ``ciphertext`` holds the
    stored bytes its CID addresses (``NoCiphertext`` without them). ``perturb_score`` (tests
    only: ``--test-perturb-score``) adds that many basis points to the score, to play a
    validator out of line."""
    sealed_problem = None
    if item.get("sealed"):
        if ciphertext is None:
            raise NoCiphertext(
                f"contribution {item['id']} is sealed and its ciphertext was not fetched: "
                "its CID cannot be checked"
            )
        cid, sealed_problem = ciphertext_problem(item, ciphertext)
    else:
        cid = _cid(path)
    uniqueness = int(item.get("uniqueness") or 0)
    found: dict[str, Any] = {
        "accepted": False,
        "cid": cid,
        "score": 0,
        "quality": 0,
        "uniqueness": uniqueness,
        "reasons": [],
    }
    if sealed_problem is not None:
        found["reasons"] = [sealed_problem]
        return found
    sha = _sha256(path)
    if sha != item["sha256"]:
        found["reasons"] = [f"the bytes served hash to {sha}, not the listed {item['sha256']}"]
        return found
    dataset = item["dataset"]
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
