"""Novelty: a contribution is paid only for the rows it adds (``contributions.novelty``), in
every lane, including when two contributions carrying the same new rows are scored at the
same time and the row index's unique constraint decides between them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contributions import pipeline, services
from contributions.lanes import express as express_lane
from contributions.lanes import stages as stage_lane
from contributions.lanes.batch import work
from contributions.models import Contribution, RowHash, Status
from contributions.novelty import Novelty
from datadao.keys import load_signer
from rewards.amounts import reward_amount as amount
from rewards.models import RewardEntry, RewardPolicy
from tests.contributions.conftest import good_csv

PER = 10**18


def reward_amount(*, novelty: dict | None, **kwargs: int) -> int:  # type: ignore[type-arg]
    """``rewards.amounts.reward_amount`` for a stored novelty report, as the ledger reads it."""
    if novelty is None:
        return amount(rows=None, **kwargs)
    return amount(rows=novelty["rows"], new=novelty["new"], **kwargs)


# --- the rule (pure) ------------------------------------------------------------------------------


def test_the_summary_says_what_is_paid() -> None:
    assert Novelty(rows=20, distinct=20, new=12).summary() == (
        "12 of 20 rows are new; paid for 12 (8 already in this dataset)."
    )
    assert Novelty(rows=20, distinct=15, new=15).summary() == (
        "15 of 20 rows are new; paid for 15 (5 repeated in the file)."
    )
    assert Novelty(rows=4, distinct=4, new=4).summary() == "4 of 4 rows are new; paid for 4."
    assert Novelty(rows=40, distinct=20, new=0).summary() == (
        "None of the 40 rows is new: every one is already in this dataset or repeated in the "
        "file; nothing to pay."
    )
    assert Novelty(rows=3, distinct=3, new=1).share_bps == 3333
    with pytest.raises(ValueError, match="inconsistent"):
        Novelty(rows=2, distinct=3, new=1)


def test_the_reward_is_floored_once_in_integers() -> None:
    half = Novelty(rows=20, distinct=20, new=10).to_dict()
    assert reward_amount(per_contribution=PER, score=10000, novelty=half) == PER // 2
    third = Novelty(rows=3, distinct=3, new=1).to_dict()
    # 10 × 9999 × 1 / (10000 × 3) = 3.333: one floor at the end, not one per factor.
    assert reward_amount(per_contribution=10, score=9999, novelty=third) == 3
    assert reward_amount(per_contribution=2**255, score=10000, novelty=third) == 2**255 // 3
    nothing = Novelty(rows=5, distinct=5, new=0).to_dict()
    assert reward_amount(per_contribution=PER, score=10000, novelty=nothing) == 0
    # Files other than tabular ones: scaled by the score only.
    assert reward_amount(per_contribution=PER, score=7500, novelty=None) == PER * 3 // 4


def test_per_row_pays_the_same_however_rows_are_split() -> None:
    def paid(rows: int, new: int) -> int:
        counts = Novelty(rows=rows, distinct=rows, new=new).to_dict()
        return reward_amount(per_contribution=0, per_row=PER, score=9000, novelty=counts)

    assert paid(12, 12) == 12 * PER * 9 // 10 == 12 * paid(1, 1)
    assert paid(12, 5) == 5 * paid(1, 1)
    assert paid(1, 0) == 0
    # Both parts, one floor: 9999 × 1 × (10 + 3 × 3) / (10000 × 3) = 6.33 (floored per part:
    # 3 + 2 = 5).
    third = Novelty(rows=3, distinct=3, new=1).to_dict()
    assert reward_amount(per_contribution=10, per_row=3, score=9999, novelty=third) == 6
    # Files other than tabular ones earn per_contribution only.
    assert reward_amount(per_contribution=PER, per_row=PER, score=10000, novelty=None) == PER


# --- the race between lanes (real PostgreSQL, in-process) -----------------------------------------


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _validated(pk: int) -> Contribution:
    contribution = services.contribution_begin(contribution_id=pk, stage="validate")
    assert contribution is not None
    validated = stage_lane.run_validation(contribution)
    assert validated is not None
    return validated


def _record(contribution: Contribution, scored: pipeline.Scored) -> Contribution:
    recorded = services.contribution_record_scores(
        contribution_id=contribution.pk,
        row_digests=scored.row_digests,
        fingerprint=scored.fingerprint,
        **scored.outcome_args(),
    )
    assert recorded is not None
    return recorded


@pytest.mark.django_db
def test_two_contributions_scored_at_once_share_the_new_rows_once(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=PER)
    first = _validated(_upload(member_client, tabular, good_csv(20)))
    # The same 20 rows spelled with CRLF, and 10 of them with 10 new ones.
    copy = _validated(_upload(member_client, tabular, good_csv(20).replace(b"\n", b"\r\n")))
    half = _validated(_upload(member_client, tabular, good_csv(20, start=10)))
    # All three are scored before any is recorded: each sees all its rows as new.
    scored = {c.pk: pipeline.score(c, pipeline.Lookups()) for c in (first, copy, half)}
    assert {s.novelty.new for s in scored.values()} == {20}

    first = _record(first, scored[first.pk])
    copy = _record(copy, scored[copy.pk])
    half = _record(half, scored[half.pk])
    assert first.status == Status.ACCEPTED and first.report["novelty"]["new"] == 20
    # What the row index already held when each was recorded is what it does not add.
    assert copy.status == Status.REJECTED and copy.report["novelty"]["new"] == 0
    assert any(r.startswith("Duplicate: None of the 20 rows") for r in copy.reasons)
    assert half.status == Status.ACCEPTED
    assert (half.report["novelty"]["new"], half.uniqueness) == (10, 5000)
    assert RowHash.objects.filter(contribution=half).count() == 10
    assert RowHash.objects.filter(dataset=tabular).count() == 30

    # Attested (the signed uniqueness is what it adds) and pinned: paid for 10 of 20 rows.
    for contribution in (first, half):
        attested = stage_lane.run_attestation(contribution)
        assert attested is not None
        assert attested.proof.typed_data["message"]["uniqueness"] == attested.uniqueness
        stage_lane.run_pin(attested)
    credits = dict(
        RewardEntry.objects.filter(source_type="contributions.contribution").values_list(
            "source_id", "amount"
        )
    )
    assert {int(k): int(v) for k, v in credits.items()} == {
        first.pk: PER * first.score // 10000,
        half.pk: PER * half.score * 10 // (10000 * 20),
    }


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_rows_another_lane_recorded_first_is_scored_again(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=PER)
    batched_pk = _upload(member_client, tabular, good_csv(10))
    staged_pk = _upload(member_client, tabular, good_csv(10).replace(b"\n", b"\r\n"))
    staged = _validated(staged_pk)  # the stage lane has it: no batch takes it
    claim = services.contribution_claim_batch(first_id=batched_pk)
    assert claim is not None and [c.pk for c in claim.contributions] == [batched_pk]
    outcomes = work(claim, load_signer("validator"))
    assert outcomes[0].scored.novelty.new == 10  # signed and pinned, counting 10 new rows

    # Meanwhile the stage lane records the same rows.
    staged = _record(staged, pipeline.score(staged, pipeline.Lookups()))
    assert staged.status == Status.ACCEPTED

    services.contribution_record_batch(claim=claim, outcomes=outcomes)
    batched = Contribution.objects.get(pk=batched_pk)
    # Its proof counted rows it no longer adds: nothing of it is kept, it is scored again.
    assert (batched.status, batched.lease_until, batched.cid) == (Status.VALIDATING, None, "")
    assert (batched.score, batched.uniqueness) == (None, None)
    assert not RowHash.objects.filter(contribution=batched).exists()
    assert not hasattr(batched, "proof")
    express_lane.run_express(batched, pin=True)
    batched.refresh_from_db()
    assert batched.status == Status.REJECTED and batched.report["novelty"]["new"] == 0
    assert not RewardEntry.objects.filter(source_id=str(batched_pk)).exists()
    assert set(RowHash.objects.filter(dataset=tabular).values_list("contribution", flat=True)) == {
        staged_pk
    }


@pytest.mark.django_db
def test_two_near_identical_images_scored_at_once_are_not_both_new(
    images, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    from tests.contributions.test_batch import _png_variant
    from tests.contributions.test_pipeline import _png

    first = _validated(_upload(member_client, images, _png(5)))
    second = _validated(_upload(member_client, images, _png_variant()))
    scored = {c.pk: pipeline.score(c, pipeline.Lookups()) for c in (first, second)}
    assert all(s.near_duplicate_of is None for s in scored.values())  # neither saw the other

    first = _record(first, scored[first.pk])
    second = services.contribution_record_scores(
        contribution_id=second.pk,
        row_digests=None,
        fingerprint=scored[second.pk].fingerprint,
        fingerprint_horizon=scored[second.pk].horizon,
        **scored[second.pk].outcome_args(),
    )
    assert first.status == Status.ACCEPTED
    # The uploader's own near-duplicate, recorded after scoring: flagged all the same.
    assert (second.status, second.review, second.near_duplicate_of_id) == (
        Status.REJECTED,
        "pending",
        first.pk,
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_image_another_lane_recorded_first_goes_to_review(
    images, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    from tests.contributions.test_batch import _png_variant
    from tests.contributions.test_pipeline import _png

    batched_pk = _upload(member_client, images, _png_variant())
    staged = _validated(_upload(member_client, images, _png(5)))
    claim = services.contribution_claim_batch(first_id=batched_pk)
    assert claim is not None and [c.pk for c in claim.contributions] == [batched_pk]
    outcomes = work(claim, load_signer("validator"))
    assert outcomes[0].scored.near_duplicate_of is None
    staged = services.contribution_record_scores(
        contribution_id=staged.pk,
        **pipeline.score(staged, pipeline.Lookups()).outcome_args(),
        fingerprint=pipeline.score(staged, pipeline.Lookups()).fingerprint,
    )
    assert staged.status == Status.ACCEPTED

    services.contribution_record_batch(claim=claim, outcomes=outcomes)
    batched = Contribution.objects.get(pk=batched_pk)
    assert (batched.status, batched.lease_until) == (Status.VALIDATING, None)
    express_lane.run_express(batched, pin=True)
    batched.refresh_from_db()
    assert (batched.status, batched.review, batched.near_duplicate_of_id) == (
        Status.REJECTED,
        "pending",
        staged.pk,
    )


@pytest.mark.django_db
def test_a_file_accepted_on_review_is_paid_for_the_rows_the_dataset_still_lacks(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    from contributions.services import contribution_override
    from tests.factories import UserFactory

    tabular.scoring = {"threshold": 9000}  # unsigned files score 7500: rejected
    tabular.save()
    held = _validated(_upload(member_client, tabular, good_csv(10)))
    held = _record(held, pipeline.score(held, pipeline.Lookups()))
    assert held.status == Status.REJECTED and held.report["novelty"]["new"] == 10
    assert not RowHash.objects.filter(contribution=held).exists()  # rejected: claims nothing

    tabular.scoring = {}
    tabular.save()
    later = _validated(_upload(member_client, tabular, good_csv(10, start=5)))
    later = _record(later, pipeline.score(later, pipeline.Lookups()))
    assert later.status == Status.ACCEPTED and later.report["novelty"]["new"] == 10

    accepted = contribution_override(contribution=held, actor=UserFactory(), decision="accept")
    assert accepted.status == Status.ACCEPTED
    # Rows 5..9 came in with the later file meanwhile: it adds 0..4 only.
    assert (accepted.report["novelty"]["new"], accepted.uniqueness) == (5, 5000)
    assert RowHash.objects.filter(contribution=held).count() == 5
    accepted.refresh_from_db()
    assert accepted.report["novelty"]["summary"] == (
        "5 of 10 rows are new; paid for 5 (5 already in this dataset)."
    )
