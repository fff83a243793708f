"""What re-running the work says about a challenge, decided without a person where the
pipeline is deterministic.

A contribution is replayed as ``datadao_verify`` replays a release: its stored bytes are
validated and scored again by ``contributions.validator.replay`` with the dataset's schema and
scoring policy, and the result compared with the recorded (and attested) scores. From that:

* *replay mismatch*: the replay differs → upheld; it matches → rejected (the challenge's claim
  is false, deterministically);
* *not what the schema claims*: it no longer validates → upheld; it validates → review (a
  schema cannot say everything a person can see);
* *duplicate*: the same bytes (SHA-256) as the earlier contribution it names → upheld; else →
  review (a near-duplicate is a judgement).

What cannot be replayed goes to review: a contribution scored by another validator version,
bytes no longer stored, and every labeling item (an item's consensus depends on the labelers'
reputations when it settled, which move, so it is not a pure function of the stored labels).
Reads files; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contributions.models import Contribution
from contributions.sealed import Unreadable
from contributions.services import contribution_plaintext
from contributions.validator import VALIDATOR_VERSION, replay

UPHELD = "upheld"
REJECTED = "rejected"
REVIEW = "review"
SCORE_PARTS = ("authenticity", "ownership", "quality", "score")


@dataclass
class Verdict:
    outcome: str
    findings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "findings": self.findings,
            "validator_version": VALIDATOR_VERSION,
        }


def _differences(contribution: Contribution) -> tuple[bool, list[str]]:
    """(whether it still validates, what differs from the record), replayed from its bytes."""
    dataset = contribution.dataset
    with contribution_plaintext(contribution) as path:
        replayed = replay(
            path,
            kind=dataset.kind,
            schema=dataset.schema,
            scoring_policy_=dataset.scoring,
            signed=contribution.signed,
        )
    if not replayed.accepted:
        return False, ["it no longer validates: " + "; ".join(replayed.reasons)]
    found = []
    if (replayed.media_type or "") != (contribution.media_type or ""):
        found.append(f"it validates as {replayed.media_type}, not {contribution.media_type}")
    for part in SCORE_PARTS:
        recorded = getattr(contribution, part)
        if recorded != replayed.scores[part]:
            found.append(f"{part}: recorded {recorded}, replayed {replayed.scores[part]}")
    return True, found


def replay_contribution(
    contribution: Contribution, *, reason: str, duplicate_of: Contribution | None
) -> Verdict:
    """The verdict on a challenge of ``contribution`` for ``reason`` (see the module)."""
    if reason == "duplicate":
        if (
            duplicate_of is not None
            and duplicate_of.sha256 == contribution.sha256
            and duplicate_of.pk < contribution.pk
        ):
            return Verdict(
                UPHELD,
                [f"its bytes are those of the earlier contribution {duplicate_of.pk} (SHA-256)"],
            )
        return Verdict(
            REVIEW, ["not the same bytes as the contribution named: a reviewer compares them"]
        )
    if contribution.validator_version != VALIDATOR_VERSION:
        return Verdict(
            REVIEW,
            [
                f"scored by validator {contribution.validator_version}; this platform runs "
                f"{VALIDATOR_VERSION}: not replayed"
            ],
        )
    try:
        validates, found = _differences(contribution)
    except FileNotFoundError:
        return Verdict(REVIEW, ["its bytes are no longer stored here: not replayed"])
    except Unreadable as exc:
        return Verdict(REVIEW, [f"its sealed bytes do not open ({exc}): not replayed"])
    if reason == "schema":
        if not validates:
            return Verdict(UPHELD, found)
        return Verdict(REVIEW, ["it still validates against the schema; a reviewer decides"])
    # A replay mismatch: the replay decides either way.
    return (
        Verdict(UPHELD, found)
        if found
        else Verdict(
            REJECTED, ["the replay gives the recorded result: validation and every score match"]
        )
    )


def replay_item() -> Verdict:
    return Verdict(
        REVIEW,
        [
            "a settled item's consensus depends on the labelers' reputations when it settled: "
            "not replayed; a reviewer decides"
        ],
    )
