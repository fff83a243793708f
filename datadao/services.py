"""Writes for DAOs, memberships, datasets, users and the audit log.

Every service is keyword-only, runs in a transaction, guards the state it changes, and records
an ``AuditEvent`` for changes that matter. Views, admin and tasks call these; nothing else
writes these models.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Model, Q
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

from datadao.chain import ChainReadError, contract_dao_id
from datadao.governed import (
    GOVERNANCE_FIELDS,
    ChangeKind,
    ReservedForGovernance,
    governance_guard,
    reserved_refusal,
)
from datadao.licenses import normalize_license
from datadao.models import (
    DAO,
    DISPUTE_FIELDS,
    AuditEvent,
    Dataset,
    DatasetKind,
    DatasetStatus,
    JoinPolicy,
    Membership,
    Role,
    User,
    WorkerHeartbeat,
)
from datadao.schema import validate_schema, validate_scoring

# --- audit --------------------------------------------------------------------------------------


def audit_record(
    *,
    actor: User | None,
    dao: DAO | None,
    verb: str,
    obj: Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Never updates or deletes (the table refuses both on PostgreSQL)."""
    event = audit_event(actor=actor, dao=dao, verb=verb, obj=obj, details=details)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    actor: User | None,
    dao: DAO | None,
    verb: str,
    obj: Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event, not yet saved: for a caller that appends many in one statement."""
    return AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        dao=dao,
        verb=verb,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        details=details or {},
    )


# --- users --------------------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """Checksum an address, or raise ValidationError naming the problem."""
    if not isinstance(address, str) or not is_address(address.strip()):
        raise ValidationError(f"{str(address)[:64]!r} is not an Ethereum address (0x + 40 hex).")
    return to_checksum_address(address.strip())


@transaction.atomic
def user_get_or_create(*, address: str) -> tuple[User, bool]:
    """The user for ``address``, created on first sight. Safe under concurrent first sign-ins."""
    checksummed = normalize_address(address)
    user, created = User.objects.get_or_create(address=checksummed)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_record(actor=user, dao=None, verb="user.created", obj=user)
    return user, created


# --- DAOs -----------------------------------------------------------------------------------------

_DAO_EDITABLE = (
    "name",
    "description",
    "token_symbol",
    "token_decimals",
    "chain_id",
    "reward_contract_address",
    "epoch_days",
    "join_policy",
    "terms",
    *GOVERNANCE_FIELDS,
    "replication_factor",
    *DISPUTE_FIELDS,
)


def dao_validate_reward_contract(*, dao: DAO) -> None:
    """Refuse a reward contract that another DAO uses on the same chain, or (where the chain
    can be read) one deployed for another DAO's id.

    The database constraint is the guarantee against sharing; this check runs first so the
    refusal names the contract instead of a constraint. The on-chain check stops a DAO being
    pointed at a contract that will never accept its payloads, including someone else's.
    """
    address = dao.reward_contract_address
    if not address:
        return
    taken = (
        DAO.objects.filter(chain_id=dao.chain_id, reward_contract_address__iexact=address)
        .exclude(pk=dao.pk)
        .exists()
    )
    if taken:
        raise ValidationError(
            {
                "reward_contract_address": (
                    f"{address} on chain {dao.chain_id} is already another DAO's reward "
                    "contract; deploy a DatadaoDistributor with this DAO's id "
                    f"({dao.onchain_id}) and use its address."
                )
            }
        )
    try:
        deployed_for = contract_dao_id(chain_id=dao.chain_id, address=address)
    except ChainReadError as exc:
        raise ValidationError({"reward_contract_address": str(exc)}) from None
    if deployed_for is not None and dao.pk is None:
        # A DAO gets its id when founded, so no contract can have been deployed for it yet.
        raise ValidationError(
            {
                "reward_contract_address": (
                    f"The contract at {address} on chain {dao.chain_id} pays DAO id "
                    f"{deployed_for}, and a new DAO gets its own id when founded: found the "
                    "DAO without a contract, deploy a DatadaoDistributor with its id, then "
                    "set the address."
                )
            }
        )
    if deployed_for is not None and deployed_for != dao.onchain_id:
        raise ValidationError(
            {
                "reward_contract_address": (
                    f"The contract at {address} on chain {dao.chain_id} pays DAO id "
                    f"{deployed_for}, not this DAO's ({dao.onchain_id}); deploy a "
                    "DatadaoDistributor with this DAO's id and use its address."
                )
            }
        )


def _dao_save(dao: DAO) -> None:
    dao.full_clean()
    try:
        with transaction.atomic():
            dao.save()
    except IntegrityError as exc:
        # Two saves racing for the same contract: the loser gets the check's message.
        if "dao_reward_contract_unique" in str(exc):
            dao_validate_reward_contract(dao=dao)
        raise


@transaction.atomic
def dao_create(
    *,
    creator: User,
    name: str,
    slug: str,
    token_symbol: str,
    token_decimals: int = 18,
    description: str = "",
    chain_id: int = 1,
    reward_contract_address: str = "",
    epoch_days: int | None = None,
    join_policy: str = JoinPolicy.REQUEST,
    terms: str = "",
    replication_factor: int = 1,
) -> DAO:
    """Create a DAO and make ``creator`` its member with role ``creator``.

    The DAO gets a fresh random ``onchain_id`` (its daoId). A reward contract given here is
    checked as in ``dao_update``; on a chain the platform reads, a contract can only be
    deployed for the DAO once it exists, so it is usually set afterwards.
    """
    if reward_contract_address:
        reward_contract_address = normalize_address(reward_contract_address)
    dao = DAO(
        name=name,
        slug=slug,
        description=description,
        token_symbol=token_symbol,
        token_decimals=token_decimals,
        chain_id=chain_id,
        reward_contract_address=reward_contract_address,
        epoch_days=epoch_days,
        join_policy=join_policy,
        terms=terms,
        replication_factor=replication_factor,
        creator=creator,
    )
    dao_validate_reward_contract(dao=dao)
    _dao_save(dao)
    Membership.objects.create(user=creator, dao=dao, role=Role.CREATOR)
    audit_record(actor=creator, dao=dao, verb="dao.created", obj=dao, details={"slug": slug})
    return dao


@transaction.atomic
def dao_update(*, dao: DAO, actor: User | None, proposal: int | None = None, **changes: Any) -> DAO:
    """Change a DAO's editable fields; the slug, creator and ``onchain_id`` never change.

    A new reward contract (or chain) is refused when another DAO uses that contract on that
    chain, and, where ``settings.CHAIN_RPC_URLS`` makes the chain readable, when the contract's
    ``daoId()`` is not this DAO's or cannot be read. A change of the join policy or of the
    governance settings that the DAO reserves for governance is refused unless ``proposal``
    (a passed proposal's id, named in the audit event) applies it.
    """
    unknown = set(changes) - set(_DAO_EDITABLE)
    if unknown:
        raise ValidationError(f"These DAO fields cannot be changed: {', '.join(sorted(unknown))}.")
    dao = DAO.objects.select_for_update().get(pk=dao.pk)
    if changes.get("reward_contract_address"):
        changes["reward_contract_address"] = normalize_address(changes["reward_contract_address"])
    if changes.get("voting_token"):
        changes["voting_token"] = normalize_address(changes["voting_token"])
    before = {key: getattr(dao, key) for key in changes}
    moved = {k for k, v in changes.items() if before[k] != v}
    if "join_policy" in moved:
        governance_guard(dao=dao, kind=ChangeKind.JOIN_POLICY, proposal=proposal)
    if moved & set(GOVERNANCE_FIELDS):
        governance_guard(dao=dao, kind=ChangeKind.GOVERNANCE, proposal=proposal)
    for key, value in changes.items():
        setattr(dao, key, value)
    if any(
        before[k] != getattr(dao, k) for k in ("chain_id", "reward_contract_address") if k in before
    ):
        dao_validate_reward_contract(dao=dao)
    _dao_save(dao)
    # A token amount (the challenge bond) is logged as its decimal string: JSON has no uint256.
    changed: dict[str, Any] = {
        k: [str(before[k]), str(v)] if isinstance(before[k], Decimal) else [before[k], v]
        for k, v in changes.items()
        if before[k] != v
    }
    if changed:
        if proposal is not None:
            changed["proposal"] = proposal
        audit_record(actor=actor, dao=dao, verb="dao.updated", obj=dao, details=changed)
    return dao


# --- memberships ----------------------------------------------------------------------------------


# Who may change a membership (each service checks under the rows' locks; the console's forms
# ask the same questions first, so the common refusal is a form error, not a refused save):
#
# * the creator and admin roles are granted and revoked only by a creator of the DAO or a
#   superuser; an admin manages reviewers and contributors only, so an admin can neither
#   promote anyone (themselves included) to admin or creator, nor demote or remove another
#   admin or a creator;
# * nobody raises their own role, a creator or superuser neither; anyone may lower their own
#   role or leave;
# * a DAO may have several creators, never none: the last creator is neither demoted nor
#   removed (a creator hands over by making another member creator first).
#
# ``actor=None`` is the platform itself (demo data, management commands), trusted.

PRIVILEGED_ROLES = (Role.CREATOR, Role.ADMIN)
_RANK = {Role.CONTRIBUTOR: 0, Role.REVIEWER: 1, Role.ADMIN: 2, Role.CREATOR: 3}


class MembershipRefused(ValidationError):
    """A membership change the actor may not make: 403, with a message naming why."""

    status_code = 403


def _is_creator(actor: User, dao_id: int) -> bool:
    return (
        actor.is_superuser
        or Membership.objects.filter(dao_id=dao_id, user=actor, role=Role.CREATOR).exists()
    )


def membership_change_refusal(
    *, actor: User | None, dao_id: int, user_id: int | None, before: str | None, after: str | None
) -> str | None:
    """Why ``actor`` may not move a member of ``dao_id`` from role ``before`` to ``after``
    (None: not a member / removed), or None when they may. Asked by the services and by the
    console's forms and permissions."""
    if actor is None or before == after:
        return None
    own = user_id is not None and user_id == actor.pk
    if own:
        if after is not None and (before is None or _RANK[Role(after)] > _RANK[Role(before)]):
            return "Nobody may raise their own role; another creator must do it."
        return None
    touches_privileged = before in PRIVILEGED_ROLES or after in PRIVILEGED_ROLES
    if touches_privileged and not _is_creator(actor, dao_id):
        who = {Role.CREATOR: "a creator", Role.ADMIN: "an admin"}
        if before in PRIVILEGED_ROLES:
            verb = "removed" if after is None else "demoted"
            return (
                f"Only a creator of the DAO may change {who[Role(before)]}: not {verb} by an admin."
            )
        return f"Only a creator of the DAO may grant the role '{after}'."
    return None


def _refuse_if_not_allowed(
    *,
    actor: User | None,
    membership: Membership | None,
    dao_id: int,
    user_id: int,
    after: str | None,
) -> None:
    refusal = membership_change_refusal(
        actor=actor,
        dao_id=dao_id,
        user_id=user_id,
        before=membership.role if membership is not None else None,
        after=after,
    )
    if refusal is not None:
        raise MembershipRefused(refusal, code="forbidden")


@transaction.atomic
def membership_add(*, dao: DAO, user: User, role: str, actor: User | None) -> Membership:
    """Add ``user`` to ``dao`` with ``role``; refuses a second membership (one row per pair)
    and a role the actor may not grant (see the rules above). Granting more than the
    contributor role is a role change: refused when the DAO reserves those for governance."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if role != Role.CONTRIBUTOR:
        governance_guard(dao=dao, kind=ChangeKind.MEMBERSHIP_ROLE, proposal=None)
    _refuse_if_not_allowed(actor=actor, membership=None, dao_id=dao.pk, user_id=user.pk, after=role)
    if Membership.objects.filter(dao=dao, user=user).exists():
        raise ValidationError(f"{user.address} is already a member of {dao.name}.")
    membership = Membership.objects.create(dao=dao, user=user, role=role)
    audit_record(
        actor=actor,
        dao=dao,
        verb="membership.added",
        obj=membership,
        details={"address": user.address, "role": role},
    )
    return membership


def _ensure_other_creator(membership: Membership) -> None:
    others = Membership.objects.filter(dao_id=membership.dao_id, role=Role.CREATOR).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ValidationError("A DAO must keep at least one member with role 'creator'.")


def _lock_roles(membership: Membership, actor: User | None) -> Membership:
    """The membership, re-read under a lock with every creator row of its DAO (so two
    concurrent demotions cannot both pass the last-creator check) and the actor's own row
    (so the actor's standing cannot change between the check and the write)."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    list(
        Membership.objects.select_for_update().filter(
            Q(role=Role.CREATOR) | Q(user_id=actor.pk if actor else None),
            dao_id=membership.dao_id,
        )
    )
    return membership


@transaction.atomic
def membership_set_role(
    *, membership: Membership, role: str, actor: User | None, proposal: int | None = None
) -> Membership:
    """Change a member's role within the rules above; the last creator of a DAO cannot be
    demoted. Refused when the DAO reserves role changes for governance, unless ``proposal``
    (a passed proposal's id, named in the audit event) applies it."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    membership = _lock_roles(membership, actor)
    if membership.role == role:
        return membership
    governance_guard(dao=membership.dao, kind=ChangeKind.MEMBERSHIP_ROLE, proposal=proposal)
    _refuse_if_not_allowed(
        actor=actor,
        membership=membership,
        dao_id=membership.dao_id,
        user_id=membership.user_id,
        after=role,
    )
    if membership.role == Role.CREATOR:
        _ensure_other_creator(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        dao=membership.dao,
        verb="membership.role_changed",
        obj=membership,
        details={
            "address": membership.user.address,
            "from": before,
            "to": role,
            **({"proposal": proposal} if proposal is not None else {}),
        },
    )
    return membership


def membership_removal_reserved(*, membership: Membership, actor: User | None) -> str | None:
    """Why ``actor`` may not remove ``membership`` because its DAO reserves role changes for
    governance (None: it may). Taking a creator, admin or reviewer out is their demotion to
    nothing, and adding them back as a contributor is open to any manager: the console must
    not do by removal what only a proposal may do by a role change. Anyone may still leave."""
    own = actor is not None and actor.pk == membership.user_id
    if own or membership.role == Role.CONTRIBUTOR:
        return None
    return reserved_refusal(membership.dao, ChangeKind.MEMBERSHIP_ROLE)


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None) -> None:
    """Remove a member within the rules above; the last creator of a DAO cannot be removed.
    A DAO that reserves role changes for governance keeps its creators, admins and reviewers
    unless they leave themselves (``membership_removal_reserved``)."""
    membership = _lock_roles(membership, actor)
    reserved = membership_removal_reserved(membership=membership, actor=actor)
    if reserved is not None:
        raise ReservedForGovernance(reserved, code="reserved_for_governance")
    _refuse_if_not_allowed(
        actor=actor,
        membership=membership,
        dao_id=membership.dao_id,
        user_id=membership.user_id,
        after=None,
    )
    if membership.role == Role.CREATOR:
        _ensure_other_creator(membership)
    audit_record(
        actor=actor,
        dao=membership.dao,
        verb="membership.removed",
        obj=membership,
        details={"address": membership.user.address, "role": membership.role},
    )
    membership.delete()


# --- datasets -------------------------------------------------------------------------------------

_DATASET_EDITABLE = ("name", "description", "schema", "license", "visibility", "scoring")
# Allowed status transitions. A dataset never goes back to draft once contributions may exist.
_STATUS_TRANSITIONS = {
    DatasetStatus.DRAFT: {DatasetStatus.OPEN, DatasetStatus.CLOSED},
    DatasetStatus.OPEN: {DatasetStatus.CLOSED},
    DatasetStatus.CLOSED: {DatasetStatus.OPEN},
}


def dataset_check_definition(
    *,
    kind: str,
    schema: Any,
    license: str,
    scoring: Any = None,
) -> str:
    """Validate a schema, license and scoring policy; return the normalized license or raise
    ValidationError carrying every fault, each naming where it is and what is wrong."""
    errors = validate_schema(kind, schema)
    errors += validate_scoring(scoring if scoring is not None else {})
    try:
        normalized = normalize_license(license)
    except ValueError as exc:
        errors.append(str(exc))
        normalized = ""
    if errors:
        raise ValidationError(errors)
    return normalized


@transaction.atomic
def dataset_create(
    *,
    dao: DAO,
    actor: User | None,
    name: str,
    slug: str,
    kind: str,
    schema: dict[str, Any],
    license: str,
    description: str = "",
    visibility: str = "public",
    status: str = DatasetStatus.DRAFT,
    scoring: dict[str, Any] | None = None,
) -> Dataset:
    """Create a dataset with a valid schema, SPDX license and scoring policy."""
    if kind not in DatasetKind.values:
        raise ValidationError(f"Unknown dataset kind {kind!r}.")
    scoring = scoring or {}
    normalized = dataset_check_definition(
        kind=kind, schema=schema, license=license, scoring=scoring
    )
    dataset = Dataset(
        dao=dao,
        name=name,
        slug=slug,
        kind=kind,
        schema=schema,
        license=normalized,
        description=description,
        visibility=visibility,
        status=status,
        scoring=scoring,
    )
    dataset.full_clean()
    dataset.save()
    audit_record(
        actor=actor,
        dao=dao,
        verb="dataset.created",
        obj=dataset,
        details={"slug": slug, "kind": kind, "status": status},
    )
    return dataset


@transaction.atomic
def dataset_update(
    *, dataset: Dataset, actor: User | None, proposal: int | None = None, **changes: Any
) -> Dataset:
    """Change a dataset's editable fields. The kind and DAO never change; status has its own
    service. A schema change is validated as a whole and audited with the old schema. A schema
    or licence change the DAO reserves for governance is refused unless ``proposal`` (a passed
    proposal's id, named in the audit event) applies it."""
    unknown = set(changes) - set(_DATASET_EDITABLE)
    if unknown:
        raise ValidationError(
            f"These dataset fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    schema = changes.get("schema", dataset.schema)
    license_ = changes.get("license", dataset.license)
    changes["license"] = dataset_check_definition(
        kind=dataset.kind, schema=schema, license=license_
    )
    before = {key: getattr(dataset, key) for key in changes}
    for field_name, kind in (
        ("schema", ChangeKind.DATASET_SCHEMA),
        ("license", ChangeKind.DATASET_LICENSE),
    ):
        if field_name in changes and changes[field_name] != before[field_name]:
            governance_guard(dao=dataset.dao, kind=kind, proposal=proposal)
    for key, value in changes.items():
        setattr(dataset, key, value)
    dataset.full_clean()
    dataset.save()
    # A token amount (the challenge bond) is logged as its decimal string: JSON has no uint256.
    changed: dict[str, Any] = {
        k: [str(before[k]), str(v)] if isinstance(before[k], Decimal) else [before[k], v]
        for k, v in changes.items()
        if before[k] != v
    }
    if changed:
        if proposal is not None:
            changed["proposal"] = proposal
        audit_record(
            actor=actor, dao=dataset.dao, verb="dataset.updated", obj=dataset, details=changed
        )
    return dataset


def dataset_status_refusal(*, dataset: Dataset, status: str) -> str | None:
    """Why ``dataset`` cannot move to ``status`` now (None: it can, or it is there already)."""
    if status not in DatasetStatus.values:
        return (
            f"Unknown dataset status {status!r}; choose one of {', '.join(DatasetStatus.values)}."
        )
    current = DatasetStatus(dataset.status)
    if status == current or status in _STATUS_TRANSITIONS[current]:
        return None
    return (
        f"A dataset with status '{current.value}' cannot become '{status}' "
        f"(allowed: {', '.join(sorted(_STATUS_TRANSITIONS[current]))})."
    )


@transaction.atomic
def dataset_set_status(
    *, dataset: Dataset, actor: User | None, status: str, proposal: int | None = None
) -> Dataset:
    """Move a dataset along draft -> open <-> closed; refuses any other transition, and a
    change the DAO reserves for governance unless ``proposal`` (a passed proposal's id, named
    in the audit event) applies it."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    current = DatasetStatus(dataset.status)
    if status == current:
        return dataset
    status = str(status)
    refusal = dataset_status_refusal(dataset=dataset, status=status)
    if refusal is not None:
        raise ValidationError(refusal)
    governance_guard(dao=dataset.dao, kind=ChangeKind.DATASET_STATUS, proposal=proposal)
    dataset.status = status
    dataset.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="dataset.status_changed",
        obj=dataset,
        details={
            "from": current.value,
            "to": status,
            **({"proposal": proposal} if proposal is not None else {}),
        },
    )
    return dataset


# --- workers ------------------------------------------------------------------------------------


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Upsert the worker's last-seen time. Idempotent: a repeat only moves the time forward."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:255], defaults={"last_seen": timezone.now()}
    )
    WorkerHeartbeat.objects.filter(pk=heartbeat.pk).update(runs=F("runs") + 1)
    return heartbeat
