"""The DAO's hand on the pipeline: retry a failure, override a decision."""

from __future__ import annotations

from django.db import transaction

from contributions import errors, lifecycle
from contributions.models import Contribution, Review, Status
from contributions.services.claims import novelty_on_accept
from contributions.services.record import Recorder
from datadao.errors import Detail
from datadao.models import User


@transaction.atomic
def contribution_retry(*, contribution: Contribution, actor: User | None) -> Contribution:
    """Console's "retry": put a failed contribution back where it stopped."""
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    if contribution.status != Status.FAILED:
        raise errors.ContributionRefused(Detail("Only a failed contribution can be retried."))
    if contribution.cid and hasattr(contribution, "proof"):
        status, fields = Status.PINNING, {}
    elif contribution.score is not None:
        status, fields = Status.ACCEPTED, {}
    else:
        status, fields = Status.RECEIVED, {"report": {}}
    recorder = Recorder(actor=actor)
    recorder.move(contribution, status, failure="", **fields)
    stage = lifecycle.stage_of(contribution)
    recorder.event(contribution, "contribution.retried", {"stage": stage})
    recorder.write()
    return contribution


@transaction.atomic
def contribution_override(
    *, contribution: Contribution, actor: User, decision: str, note: str = ""
) -> Contribution:
    """The DAO overrides the pipeline's decision (audited with the note).

    ``accept``: a rejected contribution that passed validation goes on to attestation and
    pinning; a tabular one claims its rows then, and is paid for those the dataset still
    lacked (``novelty_on_accept``). ``reject``: an accepted or pinned contribution is
    rejected (its pin stays: content addressing cannot be taken back, but it leaves releases
    and rewards), and so is one held because its validators disagree. ``confirm``: a flagged
    near-duplicate stays rejected and leaves the review queue.

    Four eyes: nobody decides on their own contribution, however high their role; another
    creator or admin of the DAO (or a superuser) must.
    """
    contribution = (
        Contribution.objects.select_for_update()
        .select_related("dataset__dao")
        .get(pk=contribution.pk)
    )
    if actor is not None and contribution.contributor_id == actor.pk:
        raise errors.ReviewByContributor(
            Detail(
                "Contribution %(pk)s is your own: another manager of the DAO "
                "must decide on it (four eyes).",
                pk=contribution.pk,
            )
        )
    before = contribution.status
    review = Review.OVERRIDDEN if contribution.review == Review.PENDING else contribution.review
    recorder = Recorder(actor=actor)
    if decision == "accept":
        if before != Status.REJECTED:
            raise errors.ContributionRefused(
                Detail("Only a rejected contribution can be accepted.")
            )
        if contribution.score is None:
            raise errors.ContributionRefused(
                Detail("This contribution failed validation; it cannot be accepted.")
            )
        recorder.move(
            contribution, Status.ACCEPTED, review=review, **novelty_on_accept(contribution)
        )
    elif decision == "reject":
        if before not in (Status.ACCEPTED, Status.PINNED, Status.HELD):
            raise errors.ContributionRefused(
                Detail(
                    "Only an accepted or pinned contribution (or one its "
                    "validators left held) can be rejected."
                )
            )
        reason = f"Rejected by the DAO: {note}" if note else "Rejected by the DAO."
        recorder.move(
            contribution, Status.REJECTED, review=review, reasons=[*contribution.reasons, reason]
        )
        from rewards.services import reward_withdraw_contribution

        reward_withdraw_contribution(contribution=contribution)
    elif decision == "confirm":
        if contribution.review != Review.PENDING:
            raise errors.ContributionRefused(Detail("This contribution is not waiting for review."))
        recorder.change(contribution, review=Review.CONFIRMED)
    else:
        raise errors.ContributionRefused(
            Detail("Unknown decision %(decision)s.", decision=repr(decision))
        )
    recorder.event(
        contribution,
        f"contribution.override_{decision}",
        {"from": before, "to": contribution.status, "note": note[:500]},
    )
    recorder.write()
    return contribution
