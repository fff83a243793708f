"""Writes of the validator quorum: changing a DAO's set, recording an attestation, and what
the quorum decides (``agree.decide``) for the contribution.

Every change of a contribution goes through the recorder (``services.record``), under the
contribution's row lock: concurrent attestations of one contribution are decided one after
the other, so the quorum is reached, or the contribution held, exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from eth_utils import is_address, to_checksum_address

from contributions.attestation import (
    BPS,
    ProofFields,
    attestation_typed_data,
    dataset_id_bytes32,
    recover,
    typed_data,
)
from contributions.models import (
    Contribution,
    ContributionProof,
    Review,
    Status,
    ValidatorAttestation,
    ValidatorDisagreement,
    ValidatorSet,
    ValidatorSetMember,
)
from contributions.quorum import agree, errors
from contributions.quorum.adoption import adoption_signer, adoption_typed_data
from contributions.quorum.selectors import (
    CurrentSet,
    validator_set_current,
    validator_set_latest,
)
from contributions.services.record import Recorder, after
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.governed import ChangeKind, governance_guard
from datadao.labels import label_detail
from datadao.models import DAO, Membership, Role, User
from datadao.services import audit_record

logger = logging.getLogger(__name__)

# A set larger than this is a configuration mistake: every contribution waits for them all.
MAX_VALIDATORS = 32
# Reasons a validator gives for a rejection: shown to reviewers, bounded.
MAX_REASONS, MAX_REASON_CHARS = 10, 500
REEVALUATE_TASK = "contributions.tasks.quorum_reevaluate"
# The statuses a contribution can be in once its validators have decided on it: a late
# attestation is still recorded there (and compared with what was decided).
DECIDED = (Status.PINNING, Status.PINNED, Status.REJECTED, Status.HELD)


# --- the set -------------------------------------------------------------------------------------


def _addresses(addresses: Any) -> list[str]:
    if not isinstance(addresses, list | tuple):
        raise errors.ValidatorSetRefused(Detail("validators must be a list of Ethereum addresses."))
    seen: dict[str, str] = {}
    for raw in addresses:
        if not isinstance(raw, str) or not is_address(raw.strip()):
            raise errors.ValidatorSetRefused(
                Detail(
                    "%(raw)s is not an Ethereum address (0x + 40 hex digits).",
                    raw=repr(str(raw)[:64]),
                )
            )
        address = to_checksum_address(raw.strip())
        if address.lower() in seen:
            raise errors.ValidatorSetRefused(
                Detail(
                    "%(address)s is listed twice: a validator's key counts once.", address=address
                )
            )
        seen[address.lower()] = address
    if len(seen) > MAX_VALIDATORS:
        raise errors.ValidatorSetRefused(
            Detail(
                "%(count)s validators: a set has at most %(max_validators)s.",
                count=len(seen),
                max_validators=MAX_VALIDATORS,
            )
        )
    return sorted(seen.values())


def validator_set_refusal(*, addresses: Any, threshold: Any) -> tuple[list[str], int]:
    """``addresses`` (checksummed, sorted) and ``threshold`` as they will be stored, or
    ``ValidatorSetRefused`` naming the problem. No address and threshold 0 hands attestation
    back to the platform's fleet key."""
    members = _addresses(addresses)
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise errors.ValidatorSetRefused(Detail("threshold must be a whole number k (k of n)."))
    if not members:
        if threshold != 0:
            raise errors.ValidatorSetRefused(
                Detail("A set with no validator has threshold 0 (the platform's key attests).")
            )
        return members, 0
    if not 1 <= threshold <= len(members):
        raise errors.ValidatorSetRefused(
            Detail(
                "threshold must be between 1 and the number of validators "
                "(%(count)s), not %(threshold)s.",
                count=len(members),
                threshold=threshold,
            )
        )
    return members, threshold


def _since(dao: DAO, latest: ValidatorSet | None) -> datetime:
    """When the new version takes effect: now, or just after the DAO's last fleet proof or
    set version if a host's clock dated it later. The DAO's row is locked for update, so no
    fleet proof of the DAO is being recorded now (``Recorder.attestation`` holds a key-share
    lock on it): every one made before this version is dated before its start, and a
    release's reader can tell a fleet proof made before the DAO had a set from one made
    after (``datadao_verify``)."""
    last = ContributionProof.objects.filter(
        contribution__dataset__dao_id=dao.pk, validator_set__isnull=True
    ).aggregate(last=Max("created_at"))["last"]
    if latest is not None:
        last = max(filter(None, (last, latest.created_at)))
    return after(last)


@transaction.atomic
def validator_set_change(
    *,
    dao: DAO,
    addresses: Any,
    threshold: Any,
    actor: User | None,
    proposal: int | None = None,
) -> ValidatorSet:
    """Make ``addresses`` with ``threshold`` the DAO's validator set: a new version (the
    previous ones stay, for the proofs made under them), audited with the previous set.

    Refused when the DAO reserves the change for governance and no passed ``proposal``
    applies it, and when nothing would change. Contributions waiting for validators are
    decided again under the new set once this commits (a lower threshold may already be met;
    with no set, the fleet key attests them)."""
    dao = DAO.objects.select_for_update().get(pk=dao.pk)
    governance_guard(dao=dao, kind=ChangeKind.VALIDATOR_SET, proposal=proposal)
    members, threshold = validator_set_refusal(addresses=addresses, threshold=threshold)
    latest = validator_set_latest(dao_id=dao.pk)
    before: dict[str, Any] = {"validators": [], "threshold": 0, "version": 0}
    if latest is not None:
        before = {
            "validators": sorted(latest.members.values_list("address", flat=True)),
            "threshold": latest.threshold,
            "version": latest.version,
        }
    if (before["validators"], before["threshold"]) == (members, threshold):
        raise errors.ValidatorSetRefused(
            Detail(
                "%(name)s's validator set is already these %(count)s "
                "validators with threshold %(threshold)s.",
                name=dao.name,
                count=len(members),
                threshold=threshold,
            )
        )
    created = ValidatorSet.objects.create(
        dao=dao,
        version=before["version"] + 1,
        threshold=threshold,
        created_at=_since(dao, latest),
        created_by=actor if actor is not None and actor.pk else None,
        proposal=proposal,
    )
    ValidatorSetMember.objects.bulk_create(
        [ValidatorSetMember(validator_set=created, address=a) for a in members]
    )
    audit_record(
        actor=actor,
        dao=dao,
        verb="validators.set_changed",
        obj=created,
        details={
            "version": created.version,
            "validators": members,
            "threshold": threshold,
            "before": before,
            "proposal": proposal,
        },
    )
    send_on_commit(REEVALUATE_TASK, dao.pk)
    return created


def validator_set_typed_data(*, validator_set: ValidatorSet) -> dict[str, Any]:
    """What a DAO's key signs to adopt ``validator_set`` (``adoption.adoption_typed_data``)."""
    dao = validator_set.dao
    return adoption_typed_data(
        dao_id=dao.onchain_id,
        chain_id=dao.chain_id,
        version=validator_set.version,
        validators=list(validator_set.members.values_list("address", flat=True)),
        threshold=validator_set.threshold,
        since=validator_set.created_at,
    )


@transaction.atomic
def validator_set_adopt(
    *, validator_set: ValidatorSet, signature: Any, actor: User | None = None
) -> ValidatorSet:
    """Record the DAO's own signature on one version of its validator set: an EIP-712
    ``ValidatorSetVersion`` (DAO, chain, version, members, threshold, since) by the wallet of
    one of its creators or admins. A release publishes it with the version, so a reader who
    knows the DAO's key tells the DAO's versions from any the platform made up
    (``datadao verify --set-signer``).

    Refused (``ValidatorSetRefused``) when the signature does not recover over exactly that
    version, or recovers to someone who is not the DAO's creator or admin, or when the
    version is adopted already by another signature; the same signature again is answered
    as before. Audited."""
    validator_set = (
        ValidatorSet.objects.select_for_update(of=("self",))
        .select_related("dao")
        .get(pk=validator_set.pk)
    )
    dao = validator_set.dao
    payload = validator_set_typed_data(validator_set=validator_set)
    try:
        signer = adoption_signer(payload, signature) if isinstance(signature, str) else None
    except ValueError:
        signer = None
    if signer is None:
        raise errors.ValidatorSetRefused(
            Detail("The adoption signature is not an EIP-712 signature (0x + 130 hex digits).")
        )
    if validator_set.adoption_signature:
        if validator_set.adoption_signature.lower() == signature.lower():
            return validator_set
        raise errors.ValidatorSetRefused(
            Detail(
                "Validator set %(version)s of %(name)s is already adopted by %(signer)s.",
                version=validator_set.version,
                name=dao.name,
                signer=validator_set.adopted_by,
            )
        )
    if not Membership.objects.filter(
        dao=dao, user__address__iexact=signer, role__in=(Role.CREATOR, Role.ADMIN)
    ).exists():
        raise errors.ValidatorSetRefused(
            Detail(
                "The adoption of validator set %(version)s is signed by %(signer)s, who is not "
                "a creator or admin of %(name)s: sign exactly this version's "
                "ValidatorSetVersion (chain %(chain_id)s) with the DAO's own wallet.",
                version=validator_set.version,
                signer=signer,
                name=dao.name,
                chain_id=dao.chain_id,
            )
        )
    validator_set.adoption_signature = signature
    validator_set.adopted_by = signer
    validator_set.save(update_fields=["adoption_signature", "adopted_by"])
    audit_record(
        actor=actor,
        dao=dao,
        verb="validators.set_adopted",
        obj=validator_set,
        details={"version": validator_set.version, "signer": signer},
    )
    return validator_set


# --- attestations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What became of an attestation: ``recorded`` (new) or ``repeated`` (the same one was
    already there), and the contribution's status after it."""

    attestation: ValidatorAttestation
    outcome: str
    status: str


_MESSAGE_FIELDS = (
    "daoId",
    "datasetId",
    "contributor",
    "cid",
    "contentSha256",
    "score",
    "quality",
    "uniqueness",
    "validatorVersion",
    "accepted",
    "validator",
)


def _lock(contribution_id: int) -> Contribution:
    contribution = (
        Contribution.objects.select_for_update(of=("self",))
        .select_related("dataset__dao", "contributor")
        .filter(pk=contribution_id, withdrawn_at=None)
        .first()
    )
    if contribution is None:
        raise errors.NoSuchContribution(
            Detail("There is no contribution %(contribution_id)s.", contribution_id=contribution_id)
        )
    return contribution


def _member_set(contribution: Contribution, validator: str) -> CurrentSet:
    dao = contribution.dataset.dao
    current = validator_set_current(dao_id=dao.pk)
    if current is None or validator not in current.members:
        raise errors.NotAValidator(
            Detail(
                "%(validator)s is not in the validator set of %(name)s, the "
                "DAO of contribution %(pk)s: only its validators attest its "
                "contributions.",
                validator=validator,
                name=dao.name,
                pk=contribution.pk,
            )
        )
    return current


def _uint(message: dict[str, Any], name: str, upper: int) -> int:
    value = message[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= upper:
        raise errors.AttestationRefused(
            Detail(
                "attestation.%(name)s must be a whole number 0..%(upper)s.", name=name, upper=upper
            )
        )
    return value


def _claim(contribution: Contribution, validator: str, message: Any) -> agree.Claim:
    """The claim in ``message``, once every field the server binds is the contribution's own
    and the validator named is the one signing the request."""
    if not isinstance(message, dict):
        raise errors.AttestationRefused(
            Detail("attestation must be the ValidatorAttestation message.")
        )
    missing = [name for name in _MESSAGE_FIELDS if name not in message]
    if missing:
        raise errors.AttestationRefused(
            Detail("attestation.%(missing)s is missing.", missing=missing[0])
        )
    dao = contribution.dataset.dao
    bound = {
        "daoId": (
            dao.onchain_id,
            Detail("DAO %(onchain_id)s (%(name)s)", onchain_id=dao.onchain_id, name=dao.name),
        ),
        "datasetId": (dataset_id_bytes32(contribution.dataset_id), Detail("its dataset")),
        "contributor": (contribution.contributor.address, Detail("its contributor")),
        "contentSha256": ("0x" + contribution.sha256, Detail("its SHA-256")),
    }
    for name, (expected, what) in bound.items():
        given = message[name]
        if not isinstance(given, str) or given.lower() != expected.lower():
            raise errors.AttestationRefused(
                Detail(
                    "attestation.%(name)s is %(given)s, but contribution %(pk)s "
                    "has %(expected)s as %(what)s: an attestation is for one "
                    "contribution of one DAO.",
                    name=name,
                    given=repr(str(given)[:80]),
                    pk=contribution.pk,
                    expected=expected,
                    what=what,
                )
            )
    named = message["validator"]
    if not isinstance(named, str) or named.lower() != validator.lower():
        raise errors.NotAValidator(
            Detail(
                "The attestation names validator %(named)s, but the request "
                "is signed by %(validator)s: a validator posts only its own "
                "attestations.",
                named=str(named)[:64],
                validator=validator,
            )
        )
    cid = message["cid"]
    if not isinstance(cid, str) or not 0 < len(cid) <= 128:
        raise errors.AttestationRefused(Detail("attestation.cid must be the contribution's CID."))
    if not isinstance(message["accepted"], bool):
        raise errors.AttestationRefused(Detail("attestation.accepted must be true or false."))
    return agree.Claim(
        accepted=message["accepted"],
        cid=cid,
        score=_uint(message, "score", BPS),
        quality=_uint(message, "quality", BPS),
        uniqueness=_uint(message, "uniqueness", BPS),
        validator_version=_uint(message, "validatorVersion", 2**32 - 1),
    )


def _fields(contribution: Contribution, claim: agree.Claim) -> ProofFields:
    return ProofFields(
        dao_id=contribution.dataset.dao.onchain_id,
        dataset_pk=contribution.dataset_id,
        contributor=contribution.contributor.address,
        cid=claim.cid,
        sha256=contribution.sha256,
        score=claim.score,
        quality=claim.quality,
        uniqueness=claim.uniqueness,
        validator_version=claim.validator_version,
    )


def _check_signature(
    contribution: Contribution, validator: str, claim: agree.Claim, signature: Any
) -> None:
    chain_id = contribution.dataset.dao.chain_id
    payload = attestation_typed_data(
        _fields(contribution, claim),
        accepted=claim.accepted,
        validator=validator,
        chain_id=chain_id,
    )
    try:
        signer = recover(payload, signature) if isinstance(signature, str) else None
    except Exception:  # eth-account raises a variety on a malformed signature
        signer = None
    if signer != validator:
        raise errors.AttestationRefused(
            Detail(
                "The signature does not recover to %(validator)s over this "
                "ValidatorAttestation (EIP-712 domain datadao, version 1, "
                "chain %(chain_id)s): sign exactly the message posted, with "
                "your own key.",
                validator=validator,
                chain_id=chain_id,
            )
        )


def _reasons(reasons: Any) -> list[str]:
    if reasons is None:
        return []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise errors.AttestationRefused(Detail("reasons must be a list of strings."))
    return [r[:MAX_REASON_CHARS] for r in reasons[:MAX_REASONS]]


def _claim_of_row(row: ValidatorAttestation) -> agree.Claim:
    return agree.Claim(
        accepted=row.accepted,
        cid=row.cid,
        score=row.score,
        quality=row.quality,
        uniqueness=row.uniqueness,
        validator_version=row.validator_version,
    )


def _claim_of_contribution(contribution: Contribution) -> agree.Claim:
    """What the contribution's row says: the platform's own result while validators have not
    agreed, the agreed claim once they have (the recorder writes their scores)."""
    return agree.Claim(
        accepted=contribution.status != Status.REJECTED,
        cid=contribution.cid,
        score=contribution.score or 0,
        quality=contribution.quality or 0,
        uniqueness=contribution.uniqueness or 0,
        validator_version=contribution.validator_version or 0,
    )


@transaction.atomic
def attestation_submit(
    *,
    contribution_id: int,
    validator: str,
    message: Any,
    signature: Any,
    reasons: Any = None,
) -> Submitted:
    """Record ``validator``'s signed attestation of a contribution and decide its quorum.

    Guarantees: only a member of the contribution's DAO's current set attests (403
    otherwise); the signed message names this contribution's DAO, dataset, contributor and
    SHA-256 and the validator itself, and its signature recovers to the validator (400
    otherwise), so an attestation of another contribution, DAO or chain, or another
    validator's, is refused; a validator attests a contribution once (DB constraint): the
    same attestation again is answered as before, a different one 409. An attestation after
    the validators decided is recorded and compared with the decision, never counted."""
    contribution = _lock(contribution_id)
    current = _member_set(contribution, validator)
    claim = _claim(contribution, validator, message)
    _check_signature(contribution, validator, claim, signature)
    reasons = _reasons(reasons)
    existing = ValidatorAttestation.objects.filter(
        contribution=contribution, validator__iexact=validator
    ).first()
    if existing is not None:
        if _claim_of_row(existing) != claim:
            raise errors.AttestationConflict(
                Detail(
                    "%(validator)s already attested contribution %(pk)s "
                    "differently; an attestation is final.",
                    validator=validator,
                    pk=contribution.pk,
                )
            )
        return Submitted(existing, "repeated", contribution.status)
    late = contribution.status in DECIDED
    if contribution.status != Status.ATTESTING and not (
        late and ValidatorAttestation.objects.filter(contribution=contribution).exists()
    ):
        raise errors.NotAttesting(
            Detail(
                "Contribution %(pk)s is not waiting for validators (it is %(lower)s).",
                pk=contribution.pk,
                lower=label_detail(Status(contribution.status), lower=True),
            )
        )
    try:
        with transaction.atomic():
            row = ValidatorAttestation.objects.create(
                contribution=contribution,
                validator=validator,
                accepted=claim.accepted,
                cid=claim.cid,
                score=claim.score,
                quality=claim.quality,
                uniqueness=claim.uniqueness,
                validator_version=claim.validator_version,
                signature=signature,
                reasons=reasons,
            )
    except IntegrityError:
        raise errors.AttestationConflict(
            Detail(
                "%(validator)s already attested contribution %(pk)s.",
                validator=validator,
                pk=contribution.pk,
            )
        ) from None
    if late:
        decided = _claim_of_contribution(contribution)
        against = "held" if contribution.status == Status.HELD else "quorum"
        _disagreements(contribution, {validator: claim}, [validator], decided, against)
    else:
        _decide(contribution, current)
    return Submitted(row, "recorded", contribution.status)


def _disagreements(
    contribution: Contribution,
    claims: dict[str, agree.Claim],
    validators: list[str] | tuple[str, ...],
    against_claim: agree.Claim,
    against: str,
) -> None:
    rows = [
        ValidatorDisagreement(
            dao_id=contribution.dataset.dao_id,
            contribution=contribution,
            validator=v,
            against=against,
            differences=claims[v].differences(against_claim),
        )
        for v in validators
        if claims[v] != against_claim
    ]
    if rows:
        ValidatorDisagreement.objects.bulk_create(rows, ignore_conflicts=True)
        for row in rows:
            logger.warning(
                "validator %s out of line on contribution %s: %s",
                row.validator,
                contribution.pk,
                "; ".join(row.differences),
            )


def _decide(contribution: Contribution, current: CurrentSet) -> None:
    """Apply the quorum's verdict to a contribution waiting in ``attesting`` (locked)."""
    rows = {
        row.validator: row for row in ValidatorAttestation.objects.filter(contribution=contribution)
    }
    claims = {v: _claim_of_row(row) for v, row in rows.items()}
    reference = _claim_of_contribution(contribution)
    verdict = agree.decide(
        claims=claims, members=current.members, threshold=current.threshold, reference=reference
    )
    if verdict.state == agree.State.WAITING:
        return
    assert verdict.claim is not None
    recorder = Recorder()
    n, k = len(current.members), current.threshold
    if verdict.state == agree.State.HELD:
        _disagreements(contribution, claims, verdict.out_of_line, verdict.claim, "held")
        reason = (
            f"Held for the DAO's review: no {k} of its {n} validators agree on this "
            "contribution's verdict and scores."
        )
        recorder.move(
            contribution,
            Status.HELD,
            review=Review.PENDING,
            reasons=[*contribution.reasons, reason],
        )
        recorder.event(
            contribution,
            "contribution.held",
            {
                "threshold": k,
                "validators": {v: c.differences(reference) for v, c in claims.items()},
            },
        )
        recorder.write()
        return
    _disagreements(contribution, claims, verdict.out_of_line, verdict.claim, "quorum")
    agreed = verdict.claim
    scores = {
        "score": agreed.score,
        "quality": agreed.quality,
        "uniqueness": agreed.uniqueness,
        "validator_version": agreed.validator_version,
    }
    if agreed.accepted:
        recorder.quorum_attestation(
            contribution,
            cid=agreed.cid,
            scores=scores,
            typed_data=typed_data(
                _fields(contribution, agreed), chain_id=contribution.dataset.dao.chain_id
            ),
            attestations=[
                {"validator": v, "signature": rows[v].signature} for v in verdict.agreeing
            ],
            validator_set=current.validator_set,
        )
    else:
        given = sorted({r for v in verdict.agreeing for r in rows[v].reasons})[:MAX_REASONS]
        reason = f"Rejected by {len(verdict.agreeing)} of the DAO's {n} validators" + (
            f": {'; '.join(given)}" if given else "."
        )
        recorder.move(
            contribution, Status.REJECTED, reasons=[*contribution.reasons, reason], **scores
        )
        recorder.event(
            contribution,
            "contribution.rejected",
            {"stage": "attest", "validators": list(verdict.agreeing), "reasons": given},
        )
    recorder.write()


@transaction.atomic
def quorum_evaluate(*, contribution_id: int) -> str:
    """Decide again a contribution waiting for validators, under its DAO's current set (after
    the set changed): the quorum may be met, impossible, or, with no set any more, the fleet
    key attests it. Idempotent; returns the contribution's status."""
    contribution = (
        Contribution.objects.select_for_update(of=("self",))
        .select_related("dataset__dao", "contributor")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None or contribution.status != Status.ATTESTING:
        return "skipped"
    current = validator_set_current(dao_id=contribution.dataset.dao_id)
    if current is None:
        recorder = Recorder()
        recorder.move(contribution, Status.ACCEPTED)
        recorder.event(contribution, "contribution.attest_by_platform", {})
        recorder.write()
    else:
        _decide(contribution, current)
    return contribution.status


def attesting_ids(*, dao_id: int) -> list[int]:
    """The DAO's contributions waiting for validators, oldest first."""
    return list(
        Contribution.objects.filter(dataset__dao_id=dao_id, status=Status.ATTESTING)
        .order_by("status_changed_at", "pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def contribution_attest_again(*, contribution: Contribution, actor: User | None) -> Contribution:
    """The DAO's review of a held contribution: ask its validators again (after one was
    fixed or replaced). Its attestations are removed (the audit event keeps each claim, the
    disagreement log stays) and it waits in ``attesting`` again."""
    contribution = _lock(contribution.pk)
    if contribution.status != Status.HELD:
        raise errors.NotAttesting(
            Detail(
                "Only a held contribution is sent back to its validators; #%(pk)s is %(lower)s.",
                pk=contribution.pk,
                lower=label_detail(Status(contribution.status), lower=True),
            )
        )
    rows = list(ValidatorAttestation.objects.filter(contribution=contribution))
    recorder = Recorder(actor=actor)
    recorder.move(contribution, Status.ATTESTING, review=Review.NONE)
    recorder.event(
        contribution,
        "contribution.attest_again",
        {"removed": {r.validator: vars(_claim_of_row(r)) for r in rows}},
    )
    ValidatorAttestation.objects.filter(pk__in=[r.pk for r in rows]).delete()
    recorder.write()
    return contribution
