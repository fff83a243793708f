"""The demo's rewards: a policy on the demo datasets and an epoch closed once the worker has
pinned the demo contributions (``run`` shows a closed epoch with claims)."""

from __future__ import annotations

from django.db import transaction

from datadao.models import DAO
from rewards.models import Epoch, EpochStatus, RewardPolicy

DEMO_REWARD = 10**18  # 1 token (18 decimals) for a contribution scoring 10000


def load_demo_rewards(*, dao: DAO, expected_credits: int) -> None:
    """Reward policies on every demo dataset; unless an epoch is already closed, queue the
    task that closes the first one when the demo's credits have arrived."""
    for dataset in dao.datasets.all():
        # Labels are paid too (per settled label, by reputation and consensus agreement).
        per_label = DEMO_REWARD // 10 if dataset.kind == "labeling" else 0
        RewardPolicy.objects.get_or_create(
            dataset=dataset, defaults={"per_contribution": DEMO_REWARD, "per_label": per_label}
        )
    if Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED).exists():
        return
    from rewards.tasks import close_demo_epoch

    transaction.on_commit(
        lambda: close_demo_epoch.apply_async(args=[dao.pk, expected_credits], countdown=5)
    )
