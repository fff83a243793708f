"""What each kind of proposal changes: its machine-readable ``change``, checked when proposed
by the console's own validation, and applied once passed by the service the console uses.

``change`` is a JSON object per kind (unknown keys are refused, so a typo never proposes
something else):

=================== ===========================================================================
kind                change
=================== ===========================================================================
dataset.schema      ``{"dataset": id, "schema": {...}}`` (validated as the console's schema)
dataset.status      ``{"dataset": id, "status": "open" | "closed"}``
dataset.license     ``{"dataset": id, "license": "CC-BY-4.0"}`` (an SPDX expression)
reward.policy       ``{"dataset": id, "per_contribution"?, "per_row"?, "per_label"?,
                    "epoch_budget"?}``: integers (or decimal strings) in the token's smallest
                    unit; ``epoch_budget`` null for no cap; fields left out keep their value
dao.join_policy     ``{"join_policy": "open" | "request" | "invite"}``
release.publish     ``{"dataset": id}``
membership.role     ``{"address": "0x…", "role": "creator" | "admin" | "reviewer" |
                    "contributor"}`` (a member's)
dao.governance      ``{"voting_power"?, "voting_token"?, "governance_reserved"?,
                    "governance_timelock_seconds"?, "governance_min_quorum_bps"?,
                    "governance_min_period_seconds"?}``
validators.set      ``{"validators": ["0x…", …], "threshold": k}`` (k of n; no validator and
                    threshold 0: the platform's key attests again)
=================== ===========================================================================

A refusal names the field: ``change.schema: columns[1].min: …``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from eth_utils import is_address, to_checksum_address

from contributions.quorum.errors import ValidatorSetRefused
from contributions.quorum.services import validator_set_change, validator_set_refusal
from contributions.releases import release_publish
from datadao import services as dao_services
from datadao.errors import Detail, listed
from datadao.governed import ChangeKind, VotingPower, validate_reserved
from datadao.licenses import normalize_license
from datadao.models import (
    DAO,
    FORMER_ROLE_NAMES,
    Dataset,
    DatasetStatus,
    JoinPolicy,
    Membership,
    Role,
)
from datadao.schema import validate_schema
from governance.errors import ProposalRefused
from rewards.policies import AMOUNT_FIELDS, reward_policy_check, reward_policy_set

MAX_TIMELOCK_SECONDS = 30 * 24 * 3600


def bad(field: str, message: str) -> ProposalRefused:
    return ProposalRefused(
        "bad_change", Detail("change.%(field)s: %(message)s", field=field, message=message)
    )


@dataclass(frozen=True)
class Checked:
    """A change as it will be applied, and the dataset it is about (if any)."""

    change: dict[str, Any]
    dataset: Dataset | None = None


def _keys(change: Any, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(change, dict):
        raise ProposalRefused("bad_change", Detail("change must be a JSON object."))
    unknown = sorted(set(change) - required - optional)
    if unknown:
        raise bad(
            unknown[0],
            Detail(
                "unknown field; this kind takes %(names)s.",
                names=", ".join(sorted(required | optional)),
            ),
        )
    missing = sorted(required - set(change))
    if missing:
        raise bad(missing[0], Detail("required."))
    return change


def _dataset(dao: DAO, change: dict[str, Any]) -> Dataset:
    pk = change["dataset"]
    if isinstance(pk, bool) or not isinstance(pk, int):
        raise bad("dataset", Detail("must be the id of one of the DAO's datasets."))
    dataset = Dataset.objects.filter(dao=dao, pk=pk).first()
    if dataset is None:
        raise bad("dataset", Detail("%(name)s has no dataset %(pk)s.", name=dao.name, pk=pk))
    return dataset


def _schema(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"dataset", "schema"})
    dataset = _dataset(dao, change)
    errors = validate_schema(dataset.kind, change["schema"])
    if errors:
        raise bad("schema", listed(errors))
    return Checked({"dataset": dataset.pk, "schema": change["schema"]}, dataset)


def _status(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"dataset", "status"})
    dataset = _dataset(dao, change)
    status = change["status"]
    if status not in (DatasetStatus.OPEN, DatasetStatus.CLOSED):
        raise bad("status", Detail("must be 'open' or 'closed'."))
    if status == dataset.status:
        raise bad("status", Detail("the dataset is already %(status)s.", status=status))
    refusal = dao_services.dataset_status_refusal(dataset=dataset, status=status)
    if refusal is not None:
        raise bad("status", refusal)
    return Checked({"dataset": dataset.pk, "status": status}, dataset)


def _license(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"dataset", "license"})
    dataset = _dataset(dao, change)
    if not isinstance(change["license"], str):
        raise bad("license", Detail("must be an SPDX expression, e.g. CC-BY-4.0."))
    try:
        normalized = normalize_license(change["license"])
    except ValueError as exc:
        raise bad("license", str(exc)) from None
    if normalized == dataset.license:
        raise bad(
            "license",
            Detail("the dataset's licence is already %(normalized)s.", normalized=normalized),
        )
    return Checked({"dataset": dataset.pk, "license": normalized}, dataset)


def _policy(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"dataset"}, set(AMOUNT_FIELDS))
    dataset = _dataset(dao, change)
    amounts = {k: v for k, v in change.items() if k != "dataset"}
    if not amounts:
        raise bad(
            "per_contribution",
            Detail("give at least one of %(names)s.", names=", ".join(AMOUNT_FIELDS)),
        )
    try:
        checked = reward_policy_check(**amounts)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise bad(name, " ".join(messages)) from None
    # Decimal strings: a uint256 is beyond JavaScript's numbers.
    normalized = {k: None if v is None else str(v) for k, v in checked.items()}
    return Checked({"dataset": dataset.pk, **normalized}, dataset)


def _join_policy(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"join_policy"})
    if change["join_policy"] not in JoinPolicy.values:
        raise bad(
            "join_policy", Detail("must be one of %(names)s.", names=", ".join(JoinPolicy.values))
        )
    if change["join_policy"] == dao.join_policy:
        raise bad(
            "join_policy",
            Detail(
                "the DAO's join policy is already %(join_policy)s.", join_policy=dao.join_policy
            ),
        )
    return Checked({"join_policy": change["join_policy"]})


def _release(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"dataset"})
    dataset = _dataset(dao, change)
    if dataset.status == DatasetStatus.DRAFT:
        raise bad("dataset", Detail("the dataset '%(name)s' is still a draft.", name=dataset.name))
    return Checked({"dataset": dataset.pk}, dataset)


def _role(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"address", "role"})
    address = change["address"]
    if not isinstance(address, str) or not is_address(address):
        raise bad("address", Detail("must be a member's Ethereum address."))
    address = to_checksum_address(address)
    membership = Membership.objects.filter(dao=dao, user__address=address).first()
    if membership is None:
        raise bad(
            "address",
            Detail("%(address)s is not a member of %(name)s.", address=address, name=dao.name),
        )
    role = change["role"]
    if role not in Role.values:
        raise bad("role", Detail("must be one of %(names)s.", names=", ".join(Role.values)))
    if role == membership.role:
        raise bad("role", Detail("%(address)s is already %(role)s.", address=address, role=role))
    if membership.role == Role.CREATOR and not (
        Membership.objects.filter(dao=dao, role=Role.CREATOR).exclude(pk=membership.pk).exists()
    ):
        raise bad("role", Detail("a DAO must keep at least one member with role 'creator'."))
    return Checked({"address": address, "role": role})


def _governance(dao: DAO, change: Any) -> Checked:
    fields = {
        "voting_power",
        "voting_token",
        "governance_reserved",
        "governance_timelock_seconds",
        "governance_min_quorum_bps",
        "governance_min_period_seconds",
    }
    change = _keys(change, set(), fields)
    if not change:
        raise bad(
            "voting_power",
            Detail("give at least one of %(names)s.", names=", ".join(sorted(fields))),
        )
    out: dict[str, Any] = {}
    if "voting_power" in change:
        if change["voting_power"] not in VotingPower.values:
            raise bad(
                "voting_power",
                Detail("must be one of %(names)s.", names=", ".join(VotingPower.values)),
            )
        out["voting_power"] = change["voting_power"]
    if "voting_token" in change:
        token = change["voting_token"]
        if token != "" and (not isinstance(token, str) or not is_address(token)):
            raise bad("voting_token", Detail("must be the ERC-20's address, or empty."))
        out["voting_token"] = to_checksum_address(token) if token else ""
    if "governance_reserved" in change:
        try:
            validate_reserved(change["governance_reserved"])
        except ValidationError as exc:
            raise bad("governance_reserved", " ".join(exc.messages)) from None
        out["governance_reserved"] = sorted(change["governance_reserved"])
    if "governance_timelock_seconds" in change:
        seconds = change["governance_timelock_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise bad("governance_timelock_seconds", Detail("must be whole seconds."))
        if not 0 <= seconds <= MAX_TIMELOCK_SECONDS:
            raise bad(
                "governance_timelock_seconds",
                Detail(
                    "must be 0 to %(max_timelock_seconds)s.",
                    max_timelock_seconds=MAX_TIMELOCK_SECONDS,
                ),
            )
        out["governance_timelock_seconds"] = seconds
    if "governance_min_quorum_bps" in change:
        bps = change["governance_min_quorum_bps"]
        if isinstance(bps, bool) or not isinstance(bps, int) or not 1 <= bps <= 10_000:
            raise bad("governance_min_quorum_bps", Detail("must be 1 to 10000 (basis points)."))
        out["governance_min_quorum_bps"] = bps
    if "governance_min_period_seconds" in change:
        seconds = change["governance_min_period_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise bad("governance_min_period_seconds", Detail("must be whole seconds."))
        if not 60 <= seconds <= 30 * 24 * 3600:
            raise bad("governance_min_period_seconds", Detail("must be 60 to 2592000 (30 days)."))
        out["governance_min_period_seconds"] = seconds
    power = out.get("voting_power", dao.voting_power)
    if power == VotingPower.TOKEN and not out.get("voting_token", dao.voting_token):
        raise bad("voting_token", Detail("voting power 'token' needs the token's address."))
    return Checked(out)


def _validator_set(dao: DAO, change: Any) -> Checked:
    change = _keys(change, {"validators", "threshold"})
    try:
        members, threshold = validator_set_refusal(
            addresses=change["validators"], threshold=change["threshold"]
        )
    except ValidatorSetRefused as exc:
        name = "threshold" if "threshold" in exc.message else "validators"
        raise bad(name, exc.message) from None
    return Checked({"validators": members, "threshold": threshold})


VALIDATORS: dict[str, Callable[[DAO, Any], Checked]] = {
    ChangeKind.DATASET_SCHEMA: _schema,
    ChangeKind.DATASET_STATUS: _status,
    ChangeKind.DATASET_LICENSE: _license,
    ChangeKind.REWARD_POLICY: _policy,
    ChangeKind.JOIN_POLICY: _join_policy,
    ChangeKind.RELEASE_PUBLISH: _release,
    ChangeKind.MEMBERSHIP_ROLE: _role,
    ChangeKind.GOVERNANCE: _governance,
    ChangeKind.VALIDATOR_SET: _validator_set,
}


def change_check(*, dao: DAO, kind: Any, change: Any) -> Checked:
    """``change`` as it will be applied, or ``ProposalRefused`` (400) naming the field."""
    validator = VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        raise ProposalRefused(
            "bad_change", Detail("kind must be one of %(join)s.", join=", ".join(ChangeKind.values))
        )
    return validator(dao, change)


def change_apply(*, dao: DAO, kind: str, change: dict[str, Any], proposal: int) -> dict[str, Any]:
    """Apply a passed proposal's change through the console's service, naming the proposal
    (the services record it in their audit events). Returns what was done, for the audit log.
    Raises what the service raises when the change no longer holds."""
    dataset = Dataset.objects.get(dao=dao, pk=change["dataset"]) if "dataset" in change else None
    if kind == ChangeKind.DATASET_SCHEMA:
        dao_services.dataset_update(
            dataset=dataset, actor=None, proposal=proposal, schema=change["schema"]
        )
    elif kind == ChangeKind.DATASET_LICENSE:
        dao_services.dataset_update(
            dataset=dataset, actor=None, proposal=proposal, license=change["license"]
        )
    elif kind == ChangeKind.DATASET_STATUS:
        dao_services.dataset_set_status(
            dataset=dataset, actor=None, status=change["status"], proposal=proposal
        )
    elif kind == ChangeKind.REWARD_POLICY:
        amounts = {k: v for k, v in change.items() if k != "dataset"}
        reward_policy_set(dataset=dataset, actor=None, proposal=proposal, **amounts)
    elif kind == ChangeKind.JOIN_POLICY:
        dao_services.dao_update(
            dao=dao, actor=None, proposal=proposal, join_policy=change["join_policy"]
        )
    elif kind == ChangeKind.RELEASE_PUBLISH:
        release = release_publish(dataset=dataset, actor=None, proposal=proposal)
        return {"release": release.cid, "version": release.version}
    elif kind == ChangeKind.MEMBERSHIP_ROLE:
        membership = Membership.objects.get(dao=dao, user__address=change["address"])
        # A proposal's change is fixed by its hash: one voted while the reviewer role was
        # called "validator" names it so.
        role = FORMER_ROLE_NAMES.get(change["role"], change["role"])
        dao_services.membership_set_role(
            membership=membership, role=role, actor=None, proposal=proposal
        )
    elif kind == ChangeKind.GOVERNANCE:
        dao_services.dao_update(dao=dao, actor=None, proposal=proposal, **change)
    elif kind == ChangeKind.VALIDATOR_SET:
        created = validator_set_change(
            dao=dao,
            addresses=change["validators"],
            threshold=change["threshold"],
            actor=None,
            proposal=proposal,
        )
        return {"validator_set": created.version}
    else:  # pragma: no cover - the kind was checked when proposed and by a constraint
        raise ValueError(f"unknown change kind {kind}")
    return {}
