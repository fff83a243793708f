"""The periodic task in a real Celery worker: a due proposal is closed, published and
executed by the worker process, once, however often the task is sent."""

from __future__ import annotations

import pytest

from datadao.governed import ChangeKind
from datadao.models import AuditEvent, JoinPolicy
from governance import vote712
from governance.models import Proposal, ProposalStatus
from governance.tasks import settle_due_proposals, settle_proposal
from tests.fixtures_celery import WorkerProcess, wait_for
from tests.governance.conftest import Gov, cast, hours_ago, propose

pytestmark = pytest.mark.worker


def test_a_worker_settles_a_due_proposal_once(celery_worker: WorkerProcess, gov: Gov) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    cast(gov, "alice", proposal, vote712.FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, vote712.FOR, at=hours_ago(1.8))
    settle_due_proposals.delay()
    settle_proposal.delay(proposal.pk)  # a duplicate, as a sweep racing the beat would send
    wait_for(
        lambda: Proposal.objects.filter(pk=proposal.pk, status=ProposalStatus.EXECUTED).exists(),
        what="the worker to execute the proposal",
        worker=celery_worker,
    )
    settle_proposal.delay(proposal.pk)
    wait_for(lambda: "succeeded" in celery_worker.log().split("settle_proposal")[-1], timeout=30)
    gov.dao.refresh_from_db()
    assert gov.dao.join_policy == JoinPolicy.OPEN
    executed = AuditEvent.objects.filter(verb="proposal.executed", object_id=str(proposal.pk))
    assert executed.count() == 1
    assert AuditEvent.objects.filter(verb="dao.updated", details__proposal=proposal.pk).count() == 1
