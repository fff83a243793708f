"""The acceptance decision: where a scored contribution goes, and why.

One function, ``scores_outcome``, decides for every lane (stage, express, batch) and for the
recorder's re-check after a novelty claim: a near-duplicate is flagged for the DAO's review,
a tabular file with no new row is a duplicate, a score under the dataset's threshold is
rejected, anything else is accepted. Validation (``validation.validate_file``) decides only
whether the file is well formed; this decides whether it is worth accepting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contributions.models import Contribution, Review, Status
from contributions.novelty import Novelty
from contributions.validator import VALIDATOR_VERSION


@dataclass
class Decision:
    """Where scores take a contribution: the status, the fields to set with it, the audit
    verb and its details."""

    status: Status
    fields: dict[str, Any]
    verb: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == Status.ACCEPTED


def scores_outcome(
    contribution: Contribution,
    *,
    scores: dict[str, int],
    threshold: int,
    near_duplicate_of: int | None,
    novelty: Novelty | None = None,
) -> Decision:
    """Decide on ``contribution``'s scores. Novelty is a gate: a near-duplicate of any
    accepted contribution (the uploader's own included) is flagged for the DAO's review, and
    a tabular file with no new row is rejected as a duplicate, whatever its scores.
    ``novelty`` goes on the report."""
    fields: dict[str, Any] = {**scores, "validator_version": VALIDATOR_VERSION}
    details = {"scores": scores, "threshold": threshold}
    if novelty is not None:
        fields["report"] = {**contribution.report, "novelty": novelty.to_dict()}
    if near_duplicate_of is not None:
        reason = (
            f"Near-duplicate of contribution #{near_duplicate_of}, already in this dataset; "
            "flagged for the DAO's review. It earns nothing unless a reviewer accepts it."
        )
        fields |= {
            "near_duplicate_of_id": near_duplicate_of,
            "review": Review.PENDING,
            "reasons": [*contribution.reasons, reason],
        }
        return Decision(Status.REJECTED, fields, "contribution.flagged", details)
    if novelty is not None and novelty.new == 0:
        fields["reasons"] = [*contribution.reasons, f"Duplicate: {novelty.summary()}"]
        return Decision(Status.REJECTED, fields, "contribution.rejected", details)
    if scores["score"] < threshold:
        reason = f"Combined score {scores['score']} is below this dataset's threshold {threshold}."
        fields["reasons"] = [*contribution.reasons, reason]
        return Decision(Status.REJECTED, fields, "contribution.rejected", details)
    return Decision(Status.ACCEPTED, fields, "contribution.accepted", details)


def claimed_outcome(outcome: dict[str, Any], claimed: int) -> dict[str, Any]:
    """``scores_outcome``'s arguments once only ``claimed`` of the new rows were claimed:
    the novelty and the uniqueness it signs shrink to what the contribution adds."""
    novelty = outcome["novelty"].claimed(claimed)
    return {"novelty": novelty, "scores": {**outcome["scores"], "uniqueness": novelty.share_bps}}
