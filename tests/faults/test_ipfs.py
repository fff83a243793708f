"""The IPFS node goes away for a while (issue #9, scenario 6).

The pin stage retries an unreachable backend with exponential backoff (2, 4, 8 ... s, up to
``PIN_MAX_RETRIES``) and gives each retry's delivery back, so the contributions wait in
``pinning`` rather than failing, then resume by themselves once the node is back: nothing is
dead-lettered before the retry budget is spent, nothing is pinned or credited twice.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client, override_settings

from contributions.models import Contribution, Status
from contributions.tasks import PIN_MAX_RETRIES
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.faults.conftest import audit_verbs, upload
from tests.fixtures_celery import start_worker, wait_for
from tests.fleet.conftest import PrivateRedis, publishing_to
from tests.fleet.invariants import check_invariants
from tests.ipfsnode import IpfsNode

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DURING_OUTAGE = 3
# Retries each waiting pin makes before the node comes back: 2 + 4 + 8 s of backoff, a
# "while" well inside the budget of PIN_MAX_RETRIES (8, some eight minutes).
RETRIES_WHILE_DOWN = 3
PIN_RETRY = re.compile(r"pin_contribution\[([0-9a-f-]+)\] retry: Retry in ([\d.]+)s")


def _pin_retries(log: str) -> dict[str, list[float]]:
    """Countdowns of each pin task's retries, by task id (a retry keeps its task's id)."""
    waits: dict[str, list[float]] = {}
    for task_id, seconds in PIN_RETRY.findall(log):
        waits.setdefault(task_id, []).append(float(seconds))
    return waits


def test_contributions_wait_in_pinning_while_the_node_is_down_then_resume(
    fresh_ipfs_node: IpfsNode,
    private_redis: PrivateRedis,
    member_client: Client,
    tabular,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    kubo = {"IPFS_BACKEND": "kubo", "IPFS_API_URL": fresh_ipfs_node.api_url}
    worker = start_worker(tmp_path, extra_env=kubo | {"CELERY_BROKER_URL": private_redis.url})
    try:
        with publishing_to(private_redis.url), override_settings(**kubo):
            # One pinned while the node is up: the worker's client has talked to it before it
            # goes away, as in a real outage.
            first = upload(member_client, tabular, good_csv(20))
            wait_for(
                lambda: Contribution.objects.filter(pk=first, status=Status.PINNED).exists(),
                timeout=60,
                what="the first pin",
                worker=worker,
            )

            fresh_ipfs_node.stop()
            ids = [
                upload(member_client, tabular, good_csv(20, start=(i + 1) * 1000))
                for i in range(DURING_OUTAGE)
            ]
            waiting = Contribution.objects.filter(pk__in=ids)

            def retried_enough() -> bool:
                # Checked on every poll of the outage: nothing gives up while it lasts.
                failed = list(waiting.filter(status=Status.FAILED).values_list("pk", "failure"))
                assert not failed, f"failed before the retry budget was spent: {failed}"
                retries = _pin_retries(worker.log())
                return len(retries) == DURING_OUTAGE and all(
                    len(waits) >= RETRIES_WHILE_DOWN for waits in retries.values()
                )

            wait_for(
                retried_enough,
                timeout=90,
                what=f"every pin to retry {RETRIES_WHILE_DOWN} times on the stopped node",
                worker=worker,
            )
            rows = list(waiting.values_list("status", "attempts"))
            # Waiting in pinning, each retry's delivery given back (only crashes count): at
            # most the one running right now is counted.
            assert all(s == Status.PINNING and a <= 1 for s, a in rows), rows

            fresh_ipfs_node.start()
            wait_for(
                lambda: waiting.filter(status=Status.PINNED).count() == DURING_OUTAGE,
                timeout=90,
                what="the waiting pins to resume on the restarted node",
                worker=worker,
            )
    finally:
        worker.stop()

    log = worker.log()
    retries = _pin_retries(log)
    for task_id, waits in retries.items():
        assert len(waits) < PIN_MAX_RETRIES, (task_id, waits)
        # Exponential backoff: each wait doubles the one before.
        assert waits == [2.0 ** (n + 1) for n in range(len(waits))], (task_id, waits)
    assert "stayed unreachable" not in log
    for pk in [first, *ids]:
        assert Counter(audit_verbs(pk))["contribution.pinned"] == 1, audit_verbs(pk)
    with override_settings(**kubo):
        report = check_invariants(contribution_ids=[first, *ids], backend=get_backend())
    everyone = DURING_OUTAGE + 1
    assert (report.pinned, report.pins, report.reward_entries) == (everyone,) * 3, report
    assert report.failed == 0, report
