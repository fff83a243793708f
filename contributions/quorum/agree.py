"""The quorum decision over validators' attestations. Pure: no Django imports.

Given the attestations of a DAO's current validator set for one contribution (one per
validator), the threshold k and the set's size n, it says whether k of them agree on one
claim (the verdict and every signed field), whether that can still happen (some validators
have not attested yet), or whether it cannot (the contribution is held for review); and
which validators are out of line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Claim:
    """What one validator states about a contribution: every field it signs besides the
    contribution's identity (DAO, dataset, contributor, SHA-256), which the server binds."""

    accepted: bool
    cid: str
    score: int
    quality: int
    uniqueness: int
    validator_version: int

    def differences(self, other: Claim) -> list[str]:
        """The fields in which ``self`` differs from ``other``, as ``name: mine vs theirs``."""
        return [
            f"{name}: {getattr(self, name)!r} vs {getattr(other, name)!r}"
            for name in self.__dataclass_fields__
            if getattr(self, name) != getattr(other, name)
        ]


class State(StrEnum):
    WAITING = "waiting"  # no claim has k yet, and the validators still missing could give it
    REACHED = "reached"  # k validators agree on ``claim``
    HELD = "held"  # no claim can reach k any more: held for review


@dataclass(frozen=True)
class Verdict:
    state: State
    claim: Claim | None  # the agreed claim (REACHED); the reference one when HELD
    agreeing: tuple[str, ...]  # the validators whose claim is ``claim``, sorted
    out_of_line: tuple[str, ...]  # the validators whose claim differs from ``claim``, sorted


def decide(
    *, claims: dict[str, Claim], members: frozenset[str], threshold: int, reference: Claim
) -> Verdict:
    """The quorum over ``claims`` (validator address -> claim). Claims by addresses outside
    ``members`` are ignored: a validator removed from the set no longer counts.

    ``reference`` is the platform's own result (its fleet ran the same validation and
    scoring): when no claim reaches k, the validators who differ from it are the ones out of
    line. When one does, the validators who differ from the agreed claim are.
    """
    if not 1 <= threshold <= len(members):
        raise ValueError(f"threshold {threshold} is not between 1 and {len(members)}")
    counted = {v: c for v, c in claims.items() if v in members}
    tally = Counter(counted.values())
    missing = len(members) - len(counted)
    best, count = tally.most_common(1)[0] if tally else (None, 0)
    if best is not None and count >= threshold:
        return _verdict(State.REACHED, best, counted)
    if count + missing >= threshold:
        return Verdict(State.WAITING, None, (), ())
    return _verdict(State.HELD, reference, counted)


def _verdict(state: State, claim: Claim, counted: dict[str, Claim]) -> Verdict:
    agreeing = tuple(sorted(v for v, c in counted.items() if c == claim))
    out = tuple(sorted(v for v, c in counted.items() if c != claim))
    return Verdict(state, claim, agreeing, out)
