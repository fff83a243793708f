"""The slow work of the pipeline's stages, shared by every lane (``contributions.lanes``).

Reads the stored file, runs the pure scorers, computes the CID, builds and signs the proof.
Writes nothing: a lane hands the results to the recorder (``services.record``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contributions import near, scoring, services
from contributions.attestation import ProofFields, sign, typed_data
from contributions.models import Contribution, RowHash
from contributions.near import Nearest
from contributions.novelty import Novelty
from contributions.validation import validate_file
from datadao.schema import scoring_policy
from ipfs.unixfs import import_stream

# --- validate -------------------------------------------------------------------------------------


# --- score ----------------------------------------------------------------------------------------


class Lookups:
    """What scoring asks the database. A batch (``contributions.lanes.batch``) answers from one
    query per batch plus what it accepted earlier in the same batch, so that scoring a batch
    gives what scoring its contributions one after another would."""

    def rows_known(self, dataset_id: int, digests: list[bytes]) -> set[bytes]:
        """Of ``digests``, those already in the dataset."""
        known: set[bytes] = set()
        for start in range(0, len(digests), 5000):
            batch = digests[start : start + 5000]
            known.update(
                bytes(d)
                for d in RowHash.objects.filter(dataset_id=dataset_id, digest__in=batch)
                .values_list("digest", flat=True)
                .iterator()
            )
        return known

    def nearest_image(self, contribution: Contribution, phash: int, threshold: int) -> Nearest:
        """The dataset's nearest accepted image (``contributions.near``), ``contribution``'s
        own fingerprint left out; its horizon is the newest fingerprint compared: what is
        recorded after it is compared again when the contribution is recorded
        (``services.stages.fingerprint_near``)."""
        return near.image_nearest(
            contribution.dataset_id, phash, exclude=contribution.pk, threshold=threshold
        )

    def nearest_text(
        self, contribution: Contribution, signature: bytes, threshold: float
    ) -> Nearest:
        """The dataset's most similar accepted text, as ``nearest_image``."""
        return near.text_nearest(
            contribution.dataset_id, signature, exclude=contribution.pk, threshold=threshold
        )


@dataclass
class Scored:
    """The proof-of-contribution scores of one contribution and what goes with them."""

    scores: dict[str, int]
    threshold: int
    near_duplicate_of: int | None  # a near-identical accepted contribution, anyone's
    row_digests: list[bytes] | None  # tabular: the digests of the rows new to the dataset
    fingerprint: dict[str, Any] | None
    novelty: Novelty | None = None  # tabular: what the file adds
    horizon: int = 0  # the newest fingerprint compared against (``Lookups.neighbours``)

    def outcome_args(self) -> dict[str, Any]:
        """The arguments of ``decide.scores_outcome`` for this result."""
        return {
            "scores": self.scores,
            "threshold": self.threshold,
            "near_duplicate_of": self.near_duplicate_of,
            "novelty": self.novelty,
        }


def score(contribution: Contribution, lookups: Lookups) -> Scored:
    """Score a validated contribution (its validation report on the row); writes nothing."""
    with services.contribution_plaintext(contribution) as path:
        return _score(contribution, lookups, path)


def _score(contribution: Contribution, lookups: Lookups, path: Path) -> Scored:
    policy = scoring_policy(contribution.dataset.scoring)
    validation = contribution.report.get("validation", {})
    parts = scoring.ownership_parts(signed=contribution.signed)
    near_of: int | None = None
    digests: list[bytes] | None = None
    novelty: Novelty | None = None
    fingerprint: dict[str, Any] = {}
    horizon = 0
    media = contribution.media_type

    if contribution.dataset.kind == "tabular":
        tabular = validation.get("tabular", validation)
        parts["quality"] = scoring.tabular_quality(tabular)
        distinct = services.contribution_row_digests(contribution)
        known = lookups.rows_known(contribution.dataset_id, distinct)
        digests = [d for d in distinct if d not in known]
        rows = max(int(tabular.get("rows_valid", 0)), len(distinct))
        novelty = Novelty(rows=rows, distinct=len(distinct), new=len(digests))
        parts["uniqueness"] = novelty.share_bps
    elif media.startswith("image/"):
        parts["quality"], phash = scoring.image_scores(path)
        nearest = lookups.nearest_image(contribution, phash, policy["image_hamming"])
        parts["uniqueness"] = scoring.image_uniqueness(nearest.distance)
        if nearest.contribution_id is not None and nearest.distance <= policy["image_hamming"]:
            near_of = nearest.contribution_id
        fingerprint["phash"] = phash
        horizon = nearest.horizon
    elif media.startswith("text/") or media in ("application/json", "application/x-ndjson"):
        parts["quality"] = scoring.text_quality(validation.get("text", {}))
        signature = scoring.text_minhash(path.read_text(encoding="utf-8-sig", errors="replace"))
        nearest = lookups.nearest_text(contribution, signature, policy["text_jaccard"])
        parts["uniqueness"] = scoring.bps(1 - nearest.similarity)
        if nearest.contribution_id is not None and nearest.similarity >= policy["text_jaccard"]:
            near_of = nearest.contribution_id
        fingerprint["minhash"] = signature
        horizon = nearest.horizon
    else:  # e.g. PDF: no content measure yet, uniqueness by exact hash only (enforced at upload)
        parts["quality"] = scoring.BPS // 2
        parts["uniqueness"] = scoring.BPS

    parts["score"] = scoring.combined(parts, policy["weights"])
    # A near-duplicate of anyone's accepted data, the uploader's own included, is never
    # accepted silently: it waits for the DAO's review (``scores_outcome``).
    return Scored(
        scores=parts,
        threshold=policy["threshold"],
        near_duplicate_of=near_of,
        row_digests=digests,
        fingerprint=fingerprint or None,
        novelty=novelty,
        horizon=horizon,
    )


# --- attest ---------------------------------------------------------------------------------------


def local_cid(path: Path) -> str:
    with path.open("rb") as stream:
        return str(import_stream(stream, cid_version=1).cid)


def proof(contribution: Contribution, cid: str, signer: Any) -> tuple[dict[str, Any], str]:
    """The EIP-712 ``ContributionProof`` of a scored contribution and ``signer``'s signature."""
    fields = ProofFields(
        dao_id=contribution.dataset.dao.onchain_id,
        dataset_pk=contribution.dataset_id,
        contributor=contribution.contributor.address,
        cid=cid,
        sha256=contribution.sha256,
        score=contribution.score or 0,
        quality=contribution.quality or 0,
        uniqueness=contribution.uniqueness or 0,
        validator_version=contribution.validator_version or services.VALIDATOR_VERSION,
    )
    payload = typed_data(fields, chain_id=contribution.dataset.dao.chain_id)
    return payload, sign(payload, signer)


def rescore(contribution: Contribution) -> dict[str, Any]:
    """Re-run validation and the content scores on the stored bytes, writing nothing.

    With the same validator version this reproduces the signed authenticity, ownership and
    quality and the validation report exactly (uniqueness depends on what the dataset held at
    scoring time, so it is recorded, not recomputed).
    """
    dataset = contribution.dataset
    with services.contribution_plaintext(contribution) as path:
        result = validate_file(path, kind=dataset.kind, schema=dataset.schema, row_digest_path=None)
        image_quality = (
            scoring.image_quality(path) if (result.media_type or "").startswith("image/") else None
        )
    parts: dict[str, Any] = scoring.ownership_parts(signed=contribution.signed)
    if dataset.kind == "tabular":
        parts["quality"] = scoring.tabular_quality(result.report.get("tabular", result.report))
    elif image_quality is not None:
        parts["quality"] = image_quality
    elif (result.media_type or "").startswith("text/"):
        parts["quality"] = scoring.text_quality(result.report.get("text", {}))
    parts["report"] = result.report
    return parts
