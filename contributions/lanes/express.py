"""The express lane: every stage a small contribution waits for, in one delivery."""

from __future__ import annotations

from contributions import lifecycle, messages
from contributions.lanes.stages import RUNNERS
from contributions.models import Contribution
from ipfs.backends.base import IpfsUnavailable


def run_express(contribution: Contribution, *, pin: bool) -> list[str]:
    """Run the stages ``contribution`` waits for one after another in this delivery; returns
    the stages run.

    Each stage is exactly what its own task runs: its result is recorded by the same service,
    in its own transaction, behind the same status guard. What changes is the hand-over: the
    service sends no message (``send_next=False``), and the record it returns, locked and
    saved a moment ago, says which stage is next (``lifecycle.stage_of``). A crash between
    stages leaves the contribution at a stage it can be resumed from, by the redelivered
    express message (``acks_late``) or by the sweeper.

    Pinning runs here only when ``pin`` is true; otherwise, or when the backend is unreachable,
    the pin stage goes to its own task, with its backoff and retry budget.
    """
    done: list[str] = []
    stage = lifecycle.stage_of(contribution)
    while stage is not None and not (stage == "pin" and not pin):
        try:
            current = RUNNERS[stage](contribution, send_next=False)
        except IpfsUnavailable:
            break
        done.append(stage)
        if current is None:  # a duplicate delivery got there first
            return done
        contribution = current
        stage = lifecycle.stage_of(contribution)
    if stage is not None:
        messages.send_stage(stage, contribution.pk)
    return done
