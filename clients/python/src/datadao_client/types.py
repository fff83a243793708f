"""The shapes of what the platform answers (TypedDicts: the JSON as it came, typed) and of
what the SDK itself makes (dataclasses).

Each TypedDict is named after the OpenAPI component it mirrors; ``SCHEMA_TYPES`` pairs them,
and a test holds their keys to the platform's document, so a field the platform adds, drops
or renames fails the test rather than a script.
"""

# No ``from __future__ import annotations``: TypedDict reads NotRequired[...] from evaluated
# annotations only, and the required keys are part of what the test compares.
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

ContributionStatus = Literal[
    "received",
    "validating",
    "accepted",
    "attesting",
    "held",
    "pinning",
    "pinned",
    "rejected",
    "failed",
]
#: Statuses after which a contribution never changes (the platform's FINAL_STATUSES).
FINAL_STATUSES: frozenset[str] = frozenset({"pinned", "rejected", "failed"})


class Me(TypedDict):
    authenticated: bool
    address: NotRequired[str]
    console: NotRequired[bool]


class SignedIn(TypedDict):
    address: str
    console: bool


class Scores(TypedDict):
    authenticity: float | None
    ownership: float | None
    quality: float | None
    uniqueness: float | None
    score: int | None


class Contribution(TypedDict):
    id: int
    dataset: int
    contributor: str
    status: ContributionStatus
    sha256: str
    size: int
    media_type: str
    name: str
    signed: bool
    scores: Scores
    novelty: dict[str, Any] | None
    reasons: list[str]
    review: dict[str, Any] | None
    cid: str | None
    failure: str | None
    created_at: str
    proof_url: str | None


class ValidatorProgress(TypedDict):
    """A contribution's attestation by its DAO's validator set: k (``threshold``) of
    ``members`` must agree; ``attested`` have posted so far."""

    version: int
    threshold: int
    members: int
    attested: int


class ContributionDetail(Contribution):
    report: dict[str, Any]
    #: While the DAO's validators attest it, or after they could not agree (held).
    validators: ValidatorProgress | None


class ContributionPage(TypedDict):
    count: int
    page: int
    page_size: int
    results: list[Contribution]


class SignedTypedData(TypedDict):
    typedData: dict[str, Any]
    signature: str
    signer: str


class ApiToken(TypedDict):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None
    revoked_at: str | None
    status: Literal["active", "expired", "revoked"]


class ApiTokenCreated(ApiToken):
    #: The secret, shown this once: the platform keeps only its hash.
    token: str


class ApiTokenPage(TypedDict):
    count: int
    results: list[ApiToken]


class JoinTerms(TypedDict):
    dao: str
    joinPolicy: Literal["open", "request", "invite"]
    terms: str
    termsHash: str
    licenses: str
    maxAgeSeconds: int
    typedData: dict[str, Any]


class Membership(TypedDict):
    dao: str
    address: str
    role: str
    joined_at: str


class JoinRequest(TypedDict):
    id: int
    dao: str
    address: str
    status: Literal["pending", "approved", "declined"]
    created_at: str
    decided_at: str | None


class Progress(TypedDict):
    done_today: int
    done_total: int
    gold_accuracy: float | None
    gold_answered: int | None
    paused: bool
    paused_reason: str


class Hold(TypedDict):
    """A task held for you: answer it (``submit_label``) or give it back (``skip_task``)."""

    hold: int
    expires_at: str
    task_type: Literal["classification", "boxes", "spans", "pairwise", "text"]
    item: dict[str, Any]
    labels: list[str]
    multi_choice: bool
    rules: dict[str, bool]
    #: The item's pre-label (``value``, ``model_version``, ``score``) when this hold shows one.
    suggestion: dict[str, Any] | None


class Next(TypedDict):
    task: Hold | None
    #: Only when nothing is left for you.
    detail: NotRequired[str]
    progress: Progress


class SubmittedLabel(TypedDict):
    hold: int
    value: Any
    at: str


class Submitted(TypedDict):
    label: SubmittedLabel
    progress: Progress


class Claim(TypedDict):
    """What the distributor contract's ``claim(epoch, amount, proof)`` needs."""

    dao: str
    daoId: str
    epoch: int
    root: str
    account: str
    #: uint256 in the token's smallest unit, as a decimal string: pass it on unchanged.
    amount: str
    amountTokens: str
    token: dict[str, Any]
    display: str
    proof: list[str]
    treeIndex: int
    chainId: int
    dumpCid: str
    contract: NotRequired[str]
    contractMissing: NotRequired[str]
    onchain: NotRequired[dict[str, Any]]


class Royalty(TypedDict):
    dao: str
    dataset: str
    payment: dict[str, Any]
    part: Literal["contributor", "treasury"]
    score: int | None
    totalScore: int
    shareBps: int
    amount: str
    display: str
    epoch: int | None
    settled: bool
    reversed: str


ClaimState = Literal["unclaimed", "pending", "paid"]


class AllocationSummary(TypedDict):
    """An epoch allocation as your list shows it; ``claim(id)`` gives its Merkle proof."""

    id: int
    dao: str
    epoch: int
    account: str
    #: uint256 in the token's smallest unit, as a decimal string.
    amount: str
    display: str
    closedAt: str | None
    state: ClaimState
    rootOnChain: bool
    claimUrl: str


class AllocationPage(TypedDict):
    allocations: list[AllocationSummary]
    #: The ``after`` of the following page; None on the last.
    next: str | None


class VoucherSummary(TypedDict):
    """A voucher made out to you; ``voucher(id)`` gives its signed typed data."""

    id: int
    dao: str
    contributor: str
    amount: str
    display: str
    nonce: str
    deadline: int
    createdAt: str
    state: ClaimState
    voucherUrl: str


class VoucherPage(TypedDict):
    vouchers: list[VoucherSummary]
    next: str | None


class ReleaseSummary(TypedDict):
    """A dataset's release; its ``cid`` is what ``download_release`` and the others take."""

    cid: str
    version: int
    created_at: str
    contributions: int
    bytes: int
    sealed: bool
    proofs_cid: str | None
    manifest_url: str
    car_url: str


class ReleasePage(TypedDict):
    dataset: int
    releases: list[ReleaseSummary]
    next: str | None


class ValidatorWorkItem(TypedDict):
    """A contribution waiting for a validator's attestation, with what judging it needs."""

    id: int
    dao: dict[str, Any]
    dataset: dict[str, Any]
    contributor: str
    sha256: str
    size: int
    media_type: str
    signed: bool
    cid: str
    sealed: bool
    uniqueness: int | None
    validator_version: int | None
    content_url: str
    ciphertext_url: str | None
    attestations_url: str


class ValidatorWork(TypedDict):
    validator: str
    contributions: list[ValidatorWorkItem]


class ValidatorAttested(TypedDict):
    contribution: int
    validator: str
    outcome: Literal["recorded", "repeated"]
    status: ContributionStatus


#: OpenAPI component name → the TypedDict that mirrors it (checked by a test).
SCHEMA_TYPES: dict[str, type] = {
    "Me": Me,
    "SignedIn": SignedIn,
    "Contribution": Contribution,
    "ContributionDetail": ContributionDetail,
    "ContributionPage": ContributionPage,
    "SignedTypedData": SignedTypedData,
    "ApiToken": ApiToken,
    "ApiTokenCreated": ApiTokenCreated,
    "ApiTokenPage": ApiTokenPage,
    "JoinTerms": JoinTerms,
    "Membership": Membership,
    "JoinRequest": JoinRequest,
    "Progress": Progress,
    "Hold": Hold,
    "Next": Next,
    "Submitted": Submitted,
    "Claim": Claim,
    "AllocationSummary": AllocationSummary,
    "AllocationPage": AllocationPage,
    "VoucherSummary": VoucherSummary,
    "VoucherPage": VoucherPage,
    "ReleaseSummary": ReleaseSummary,
    "ReleasePage": ReleasePage,
    "ValidatorWorkItem": ValidatorWorkItem,
    "ValidatorWork": ValidatorWork,
    "ValidatorAttested": ValidatorAttested,
}


@dataclass(frozen=True)
class Upload:
    """One file's upload: the contribution it became and how it got there.

    ``attempts`` counts the requests sent; ``recovered`` is True when an earlier attempt had
    reached the platform although its answer was lost, and the contribution was found by the
    file's SHA-256 instead of being uploaded twice; ``existing`` when the file was already
    there before this call (``existing_ok=True``).
    """

    contribution: Contribution
    sha256: str
    attempts: int
    recovered: bool = False
    existing: bool = False


@dataclass(frozen=True)
class ReleaseFile:
    """A file of a release, read whole out of its verified CAR; ``path`` is where it was
    written (None when the download was not extracted)."""

    cid: str
    path: Path | None
    size: int


@dataclass(frozen=True)
class ReleaseDownload:
    """A release downloaded as its CAR: every block checked against its CID, the release's
    manifest among the roots, every root complete."""

    cid: str
    car: Path
    roots: list[str]
    manifest: dict[str, Any]
    files: list[ReleaseFile] = field(default_factory=list)
