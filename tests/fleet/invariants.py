"""The invariant check run at the end of every fleet / fault-injection scenario.

What must hold however the broker, the workers or the network misbehaved, read from the
database (the system of record) and, when given, the IPFS backend:

1. every contribution in scope is in a final state (pinned, rejected or failed);
2. pinned contributions == Pin rows for their CIDs == distinct CIDs, each with one proof,
   and each pinned on the backend;
3. reward entries for contributions == pinned contributions with a credit under their dataset's
   policy, each exactly once and of the policy's amount; nothing credited that is not pinned.

``check_invariants`` collects every violation before failing, so one run shows all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from contributions.models import FINAL_STATUSES, Contribution, ContributionProof, Status
from ipfs.backends.base import IpfsBackend
from ipfs.models import Pin
from rewards.models import RewardEntry, RewardPolicy

BPS = 10_000
CONTRIBUTION_SOURCE = "contributions.contribution"


@dataclass(frozen=True)
class InvariantReport:
    contributions: int
    pinned: int
    rejected: int
    failed: int
    pins: int
    distinct_cids: int
    reward_entries: int


def check_invariants(
    *, contribution_ids: Iterable[int] | None = None, backend: IpfsBackend | None = None
) -> InvariantReport:
    """Check the invariants over ``contribution_ids`` (all contributions when None); raise
    AssertionError naming every violation, or return the counts."""
    scope = Contribution.objects.all()
    if contribution_ids is not None:
        scope = scope.filter(pk__in=list(contribution_ids))
    rows = list(scope.values("pk", "status", "cid", "score", "dataset_id"))
    problems: list[str] = []

    # 1. Everything finished.
    unfinished = [(r["pk"], r["status"]) for r in rows if r["status"] not in FINAL_STATUSES]
    if unfinished:
        problems.append(f"not in a final state: {unfinished}")

    # 2. One pin, one CID and one proof per pinned contribution.
    pinned = [r for r in rows if r["status"] == Status.PINNED]
    pinned_ids = {r["pk"] for r in pinned}
    without_cid = [r["pk"] for r in pinned if not r["cid"]]
    if without_cid:
        problems.append(f"pinned without a CID: {without_cid}")
    cids = Counter(r["cid"] for r in pinned if r["cid"])
    shared = {cid: n for cid, n in cids.items() if n > 1}
    if shared:
        problems.append(f"pinned contributions sharing a CID: {shared}")
    pin_rows = Pin.objects.filter(cid__in=list(cids)).count()
    if not len(pinned) == pin_rows == len(cids):
        problems.append(
            f"pinned contributions ({len(pinned)}), Pin rows ({pin_rows}) and distinct CIDs "
            f"({len(cids)}) differ"
        )
    proofs = Counter(
        ContributionProof.objects.filter(contribution_id__in=pinned_ids).values_list(
            "contribution_id", flat=True
        )
    )
    bad_proofs = {pk: proofs.get(pk, 0) for pk in pinned_ids if proofs.get(pk, 0) != 1}
    if bad_proofs:
        problems.append(f"pinned contributions without exactly one proof: {bad_proofs}")
    if backend is not None:
        missing = [cid for cid in cids if not backend.is_pinned(cid)]
        if missing:
            problems.append(f"CIDs recorded as pinned but not pinned on the backend: {missing}")

    # 3. Exactly one credit per pinned contribution that earns one, and nothing else.
    policies = {
        p.dataset_id: int(p.per_contribution)
        for p in RewardPolicy.objects.filter(dataset_id__in={r["dataset_id"] for r in rows})
    }
    expected = {
        str(r["pk"]): policies.get(r["dataset_id"], 0) * r["score"] // BPS
        for r in pinned
        if policies.get(r["dataset_id"]) and r["score"]
    }
    entries = list(
        RewardEntry.objects.filter(
            source_type=CONTRIBUTION_SOURCE, source_id__in=[str(r["pk"]) for r in rows]
        ).values_list("source_id", "amount")
    )
    per_source = Counter(source for source, _ in entries)
    duplicated = {source: n for source, n in per_source.items() if n > 1}
    if duplicated:
        problems.append(f"contributions credited more than once: {duplicated}")
    unexpected = sorted(set(per_source) - set(expected), key=int)
    if unexpected:
        problems.append(f"credited but not pinned (or no credit due): {unexpected}")
    missing_credit = sorted(set(expected) - set(per_source), key=int)
    if missing_credit:
        problems.append(f"pinned but never credited: {missing_credit}")
    wrong = {s: (int(a), expected[s]) for s, a in entries if s in expected and a != expected[s]}
    if wrong:
        problems.append(f"credits of the wrong amount (got, expected): {wrong}")

    if problems:
        raise AssertionError("invariants violated:\n- " + "\n- ".join(problems))
    by_status = Counter(r["status"] for r in rows)
    return InvariantReport(
        contributions=len(rows),
        pinned=len(pinned),
        rejected=by_status[Status.REJECTED],
        failed=by_status[Status.FAILED],
        pins=pin_rows,
        distinct_cids=len(cids),
        reward_entries=len(entries),
    )
