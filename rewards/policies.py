"""Writing a dataset's reward policy: the console's editor and a passed proposal both set it
here, audited, and refused when the DAO reserves it for governance and no proposal applies it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from datadao.governed import ChangeKind, governance_guard
from datadao.models import Dataset, User
from datadao.services import audit_record
from rewards.models import RewardPolicy

AMOUNT_FIELDS = ("per_contribution", "per_row", "per_label", "epoch_budget")
UINT256_MAX = 2**256 - 1


def reward_policy_check(**amounts: Any) -> dict[str, int | None]:
    """The amounts as integers in the token's smallest unit, or a ValidationError naming each
    one that is not a uint256 (``epoch_budget`` may be None: no cap)."""
    errors: dict[str, str] = {}
    checked: dict[str, int | None] = {}
    for name, value in amounts.items():
        if name not in AMOUNT_FIELDS:
            errors[name] = f"unknown field; the policy has {', '.join(AMOUNT_FIELDS)}."
            continue
        if value is None and name == "epoch_budget":
            checked[name] = None
            continue
        number = _uint(value)
        if number is None:
            errors[name] = (
                "must be a whole number of the token's smallest unit, 0 to 2**256 - 1 "
                "(a decimal string or an integer)."
            )
            continue
        checked[name] = number
    if errors:
        raise ValidationError(errors)
    return checked


def _uint(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 78:
        number = int(value)
    else:
        return None
    return number if 0 <= number <= UINT256_MAX else None


def _amount(value: Any) -> str | None:
    return None if value is None else str(int(value))


@transaction.atomic
def reward_policy_set(
    *, dataset: Dataset, actor: User | None, proposal: int | None = None, **amounts: Any
) -> RewardPolicy:
    """Create or change ``dataset``'s reward policy (the fields given; the others keep their
    value, 0 and no cap for a new policy). Refused when the DAO reserves reward policies for
    governance, unless ``proposal`` (a passed proposal's id, named in the audit event)
    applies it. Audited with the amounts before and after, as integer strings."""
    governance_guard(dao=dataset.dao, kind=ChangeKind.REWARD_POLICY, proposal=proposal)
    checked = reward_policy_check(**amounts)
    policy = RewardPolicy.objects.select_for_update().filter(dataset=dataset).first()
    created = policy is None
    if policy is None:
        policy = RewardPolicy(dataset=dataset)
    before = {name: _amount(getattr(policy, name)) for name in checked}
    for name, value in checked.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    changed: dict[str, Any] = {
        name: [before[name], _amount(value)]
        for name, value in checked.items()
        if created or before[name] != _amount(value)
    }
    if changed or created:
        if proposal is not None:
            changed["proposal"] = proposal
        audit_record(
            actor=actor,
            dao=dataset.dao,
            verb="reward_policy.created" if created else "reward_policy.updated",
            obj=policy,
            details=changed,
        )
    return policy
