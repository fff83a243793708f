"""Changes a DAO may reserve for governance: the console's services refuse them unless a
passed proposal applies them.

A DAO lists the kinds of change it reserves (``DAO.governance_reserved``). Each service that
makes such a change takes ``proposal`` (the id of the passed proposal applying it, or None)
and asks ``governance_guard`` first; only the governance app's executor passes a proposal, so
the console, the admin actions and any other caller are refused with a message naming the
kind. The kinds live here, in the ground-floor app, because the services that apply them live
in datadao, contributions and rewards, below the governance app.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from datadao.errors import Detail
from datadao.labels import label_detail


class ChangeKind(models.TextChoices):
    """What a proposal may change; each is applied by the service the console uses."""

    DATASET_SCHEMA = "dataset.schema", _("A dataset's schema")
    DATASET_STATUS = "dataset.status", _("A dataset's status (open, closed)")
    DATASET_LICENSE = "dataset.license", _("A dataset's licence")
    REWARD_POLICY = "reward.policy", _("A dataset's reward policy")
    JOIN_POLICY = "dao.join_policy", _("The DAO's join policy")
    RELEASE_PUBLISH = "release.publish", _("Publishing a dataset's release")
    MEMBERSHIP_ROLE = "membership.role", _("A member's role")
    GOVERNANCE = "dao.governance", _("The DAO's governance settings")
    VALIDATOR_SET = "validators.set", _("The DAO's validator set and its threshold")


class VotingPower(models.TextChoices):
    """How much a member's vote weighs (per DAO)."""

    MEMBER = "member", _("One member, one vote")
    REPUTATION = "reputation", _("Reputation: accepted contributions and labels given")
    TOKEN = "token", _("Token balance at the proposal's snapshot block")


# The DAO fields that are its governance settings (kind ``dao.governance``).
GOVERNANCE_FIELDS = (
    "voting_power",
    "voting_token",
    "governance_reserved",
    "governance_timelock_seconds",
    "governance_min_quorum_bps",
    "governance_min_period_seconds",
)


class ReservedForGovernance(ValidationError):
    """A change the DAO reserves for governance, made without a passed proposal: 403. A
    ``ValidationError`` so the console's forms and actions show it like their other refusals."""

    status_code = 403


def reserved_kinds(dao: Any) -> set[str]:
    """The kinds ``dao`` reserves. Its governance settings are reserved too as soon as
    anything is: otherwise the console could lift a reservation and then make the change."""
    kinds = set(dao.governance_reserved or ())
    if kinds:
        kinds.add(ChangeKind.GOVERNANCE.value)
    return kinds


def reserved_refusal(dao: Any, kind: str) -> str | None:
    """Why the console may not make a change of ``kind`` to ``dao`` (None: it may)."""
    if kind not in reserved_kinds(dao):
        return None
    return Detail(
        "%(name)s reserves this change for governance (%(kind)s: %(label)s): only a passed "
        "proposal may make it. Propose it on the DAO's proposals page.",
        name=dao.name,
        kind=kind,
        label=label_detail(ChangeKind(kind), lower=True),
    )


def governance_guard(*, dao: Any, kind: str, proposal: int | None) -> None:
    """Refuse a change of ``kind`` that ``dao`` reserves, unless ``proposal`` applies it."""
    if proposal is not None:
        return
    refusal = reserved_refusal(dao, kind)
    if refusal is not None:
        raise ReservedForGovernance(refusal, code="reserved_for_governance")


def validate_reserved(value: Any) -> None:
    """The reserved list: known kinds, each once."""
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValidationError(_("A list of change kinds."))
    unknown = sorted(set(value) - set(ChangeKind.values))
    if unknown:
        raise ValidationError(
            _("Unknown change kinds: %(unknown)s; choose from %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(ChangeKind.values)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each change kind once."))
