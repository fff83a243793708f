"""The invariant check run at the end of every fleet / fault-injection scenario.

What must hold however the broker, the workers or the network misbehaved, read from the
database (the system of record) and, when given, the IPFS backend:

1. every contribution in scope is in a final state (pinned, rejected or failed);
2. pinned contributions == Pin rows for their CIDs == distinct CIDs, each with one proof,
   and each pinned on the backend;
3. reward entries for contributions == pinned contributions with a credit under their dataset's
   policy, each exactly once and of the policy's amount (per_contribution × score / 10000,
   times new rows / rows for a tabular file, floored once; nothing when that is 0); nothing
   credited that is not pinned;
4. reward entries for labels == settled labels (their task complete, not gold) with a credit
   under their dataset's policy, each exactly once and never above ``per_label``; nothing
   credited for a label still open; no entry for anything but a contribution or a label;
5. every closed epoch's stored total equals its allocations, and they equal its ledger
   entries summed per address (scaled down pro rata only when the epoch says it was
   budget-capped); no entry is attached to an epoch still open.

Scope: the contributions given (all when None), the labels of their datasets and of
``dataset_ids``, and the epochs of those datasets' DAOs.

``check_invariants`` collects every violation before failing, so one run shows all of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from contributions.models import FINAL_STATUSES, Contribution, ContributionProof, Status
from datadao.models import Dataset
from ipfs.backends.base import IpfsBackend
from ipfs.models import Pin
from labeling.models import Label, TaskStatus
from rewards.models import Allocation, Epoch, EpochStatus, RewardEntry, RewardPolicy

BPS = 10_000
CONTRIBUTION_SOURCE = "contributions.contribution"
LABEL_SOURCE = "labeling.label"
# What each kind of credit is booked as (rewards.services): anything else is not a credit the
# platform makes.
CREDIT_KINDS = {(CONTRIBUTION_SOURCE, "contribution"), (LABEL_SOURCE, "label")}


@dataclass(frozen=True)
class InvariantReport:
    contributions: int
    pinned: int
    rejected: int
    failed: int
    pins: int
    distinct_cids: int
    reward_entries: int
    settled_labels: int = 0
    label_entries: int = 0
    closed_epochs: int = 0


def _contribution_amount(per_contribution: int, row: dict) -> int:  # type: ignore[type-arg]
    """What a pinned contribution earns, computed here apart from the code under test."""
    novelty = row["report__novelty"]
    if novelty is None:
        return per_contribution * row["score"] // BPS
    return per_contribution * row["score"] * novelty["new"] // (BPS * novelty["rows"])


def check_invariants(
    *,
    contribution_ids: Iterable[int] | None = None,
    backend: IpfsBackend | None = None,
    dataset_ids: Iterable[int] | None = None,
) -> InvariantReport:
    """Check the invariants over ``contribution_ids`` (all contributions when None) and the
    labels and epochs around them (see the module docstring); raise AssertionError naming
    every violation, or return the counts."""
    scope = Contribution.objects.all()
    if contribution_ids is not None:
        scope = scope.filter(pk__in=list(contribution_ids))
    rows = list(scope.values("pk", "status", "cid", "score", "dataset_id", "report__novelty"))
    problems: list[str] = []
    everything = contribution_ids is None and dataset_ids is None
    datasets = {r["dataset_id"] for r in rows} | set(dataset_ids or ())

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
        str(r["pk"]): amount
        for r in pinned
        if policies.get(r["dataset_id"])
        and r["score"]
        and (amount := _contribution_amount(policies[r["dataset_id"]], r))
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

    settled, label_entries = _check_label_credits(datasets, everything, problems)
    closed_epochs = _check_epochs(datasets, everything, problems)

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
        settled_labels=settled,
        label_entries=label_entries,
        closed_epochs=closed_epochs,
    )


def _check_label_credits(
    datasets: set[int], everything: bool, problems: list[str]
) -> tuple[int, int]:
    """4. One credit per settled label that earns one, none for a label still open, and no
    entry of a kind the platform does not make. Returns (settled labels, label entries)."""
    labels = Label.objects.all() if everything else Label.objects.filter(dataset_id__in=datasets)
    label_rows = list(labels.values_list("pk", "dataset_id", "task__status", "task__is_gold"))
    per_label = dict(
        RewardPolicy.objects.filter(
            dataset_id__in={dataset for _, dataset, _, _ in label_rows}
        ).values_list("dataset_id", "per_label")
    )
    settled = {
        str(pk): int(per_label.get(dataset) or 0)
        for pk, dataset, status, gold in label_rows
        if status == TaskStatus.COMPLETE and not gold
    }
    expected = {source for source, cap in settled.items() if cap}

    ledger = RewardEntry.objects.all()
    if not everything:
        ledger = ledger.filter(dataset_id__in=datasets)
    foreign = sorted(
        {(kind, reason) for kind, reason in ledger.values_list("source_type", "reason").distinct()}
        - CREDIT_KINDS
    )
    if foreign:
        problems.append(f"reward entries for neither a contribution nor a label: {foreign}")
    entries = list(
        ledger.filter(source_type=LABEL_SOURCE).values_list("source_id", "amount", "reason")
    )
    per_source = Counter(source for source, _, _ in entries)
    duplicated = {source: n for source, n in per_source.items() if n > 1}
    if duplicated:
        problems.append(f"labels credited more than once: {duplicated}")
    unexpected = sorted(set(per_source) - expected, key=int)
    if unexpected:
        problems.append(f"labels credited but not settled (or no credit due): {unexpected}")
    missing = sorted(expected - set(per_source), key=int)
    if missing:
        problems.append(f"settled labels never credited: {missing}")
    too_much = {
        source: (int(amount), settled[source])
        for source, amount, _ in entries
        if source in expected and not 0 <= amount <= settled[source]
    }
    if too_much:
        problems.append(f"label credits outside [0, per_label] (got, per_label): {too_much}")
    return len(settled), len(entries)


def _check_epochs(datasets: set[int], everything: bool, problems: list[str]) -> int:
    """5. Each closed epoch's stored total == its allocations == its ledger entries summed per
    address (pro rata below them only when budget-capped); open epochs hold no entries.
    Returns how many closed epochs were checked."""
    epochs = Epoch.objects.select_related("dao")
    if not everything:
        epochs = epochs.filter(dao_id__in=Dataset.objects.filter(pk__in=datasets).values("dao_id"))
    closed = 0
    for epoch in epochs:
        name = f"epoch {epoch.number} of {epoch.dao.slug}"
        entries = RewardEntry.objects.filter(epoch=epoch)
        if epoch.status == EpochStatus.OPEN:
            if entries.exists():
                problems.append(f"{name} is open but holds {entries.count()} ledger entries")
            continue
        closed += 1
        owed: dict[str, int] = defaultdict(int)
        for address, amount in entries.values_list("account__address", "amount"):
            owed[address] += int(amount)
        allocated = {
            address: int(amount)
            for address, amount in Allocation.objects.filter(epoch=epoch).values_list(
                "account", "amount"
            )
        }
        total = int(epoch.total)
        if total != sum(allocated.values()):
            problems.append(
                f"{name}: stored total {total} != its allocations {sum(allocated.values())}"
            )
        if epoch.budget_scaled:
            over = {a: (v, owed.get(a, 0)) for a, v in allocated.items() if v > owed.get(a, 0)}
            if over:
                problems.append(f"{name}: allocations above the ledger (allocated, owed): {over}")
        else:
            ledger = {address: amount for address, amount in owed.items() if amount > 0}
            if allocated != ledger:
                problems.append(
                    f"{name}: allocations {allocated} != ledger entries per address {ledger}"
                )
            if total != sum(ledger.values()):
                problems.append(f"{name}: stored total {total} != ledger {sum(ledger.values())}")
    return closed
