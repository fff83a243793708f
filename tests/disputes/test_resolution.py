"""Deciding a challenge: reversal and its money, once only, by someone party to neither side."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contributions.models import Contribution, Status
from datadao.models import AuditEvent
from disputes import services
from disputes.models import Challenge, ChallengeStatus
from rewards.models import Clawback, RewardEntry
from rewards.services import epoch_close
from tests.disputes.conftest import Disputed, client_of, decide, file, make_disputed

pytestmark = pytest.mark.django_db


def _challenge(world: Disputed, target: Contribution, who=None, reason: str = "schema") -> int:  # type: ignore[no-untyped-def]
    r = file(
        client_of(who or world.challenger),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason=reason,
    )
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _credits(user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        reason: int(amount)
        for reason, amount in RewardEntry.objects.filter(account=user).values_list(
            "reason", "amount"
        )
    }


def test_upheld_in_an_open_epoch_withdraws_the_reward_and_pays_bond_and_share() -> None:
    world = make_disputed(challenge_bond=500, challenge_share_bps=1000)
    target = world.pinned()
    assert int(world.credit(target).amount) == 1000
    mine = _challenge(world, target)
    second = world.member()
    theirs = _challenge(world, target, second)
    for pk in (mine, theirs):
        services.challenge_bond_record(challenge_id=pk, actor=world.admin, reference="0xfeed")
    r = decide(client_of(world.admin), mine, decision="uphold", note="rows are made up")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["withdrawn"], body["clawed_back"]) == ("upheld", "1000", "0")
    target.refresh_from_db()
    assert target.status == Status.REJECTED and "rows are made up" in target.reasons[-1]
    assert world.credit(target) is None  # never paid: it was still in the open epoch
    # Bond back, plus 10 % of what was withdrawn; the other challenger: bond back, no share.
    assert _credits(world.challenger) == {"challenge_bond": 500, "challenge_reward": 100}
    assert _credits(second) == {"challenge_bond": 500}
    assert Challenge.objects.get(pk=theirs).status == ChallengeStatus.MOOT
    event = AuditEvent.objects.get(verb="challenge.upheld")
    assert event.details["withdrawn"] == "1000" and event.details["moot"] == [theirs]


def test_a_rejected_challenge_forfeits_the_bond_and_cannot_be_decided_again() -> None:
    world = make_disputed(challenge_bond=500)
    target = world.pinned()
    pk = _challenge(world, target)
    r = decide(client_of(world.admin), pk, decision="uphold")
    assert r.status_code == 409 and r.json()["error"] == "bond_due"
    services.challenge_bond_record(challenge_id=pk, actor=world.admin, reference="0xfeed")
    r = decide(client_of(world.admin), pk, decision="reject", note="the file is fine")
    assert r.status_code == 200 and r.json()["bond_status"] == "forfeited"
    for decision in ("uphold", "reject"):
        r = decide(client_of(world.other_admin), pk, decision=decision)
        assert r.status_code == 409 and r.json()["error"] == "already_decided"
    target.refresh_from_db()
    assert target.status == Status.PINNED and int(world.credit(target).amount) == 1000
    assert _credits(world.challenger) == {}


def test_nobody_decides_a_dispute_they_are_party_to(world: Disputed) -> None:
    # The author is an admin too, and so is the challenger: four eyes either way.
    author_admin = world.member("admin")
    target = world.pinned(author_admin)
    pk = _challenge(world, target, world.other_admin)
    r = decide(client_of(world.other_admin), pk, decision="uphold")
    assert r.status_code == 403 and r.json()["error"] == "party"
    r = decide(client_of(author_admin), pk, decision="reject")
    assert r.status_code == 403 and "yours" in r.json()["detail"]
    r = decide(client_of(world.challenger), pk, decision="uphold")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = decide(client_of(world.admin), pk, decision="maybe")
    assert r.status_code == 400 and "decision must be" in r.json()["detail"]
    assert Challenge.objects.get(pk=pk).status == ChallengeStatus.OPEN


def test_one_upheld_challenge_per_target_below_the_service(world: Disputed) -> None:
    target = world.pinned()
    first = _challenge(world, target)
    services.challenge_uphold(challenge_id=first, actor=world.admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.create(
            dao=world.dao,
            dataset=world.dataset,
            challenger=world.member(),
            contribution=target,
            reason="replay",
            status=ChallengeStatus.UPHELD,
            bond_status="none",
            resolved_at=timezone.now(),
        )
    # A decided status without a date, or an open one with it, is refused too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.filter(pk=first).update(resolved_at=None)


def test_a_settled_reward_becomes_one_clawback_however_often_it_is_reversed(
    world: Disputed,
) -> None:
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    first = _challenge(world, target)
    services.challenge_uphold(challenge_id=first, actor=world.admin, note="fabricated")
    entry = world.credit(target)
    assert entry is not None and entry.epoch is not None  # committed: it stays
    clawback = Clawback.objects.get(entry=entry)
    assert (int(clawback.amount), int(clawback.remaining)) == (1000, 1000)
    assert "fabricated" in clawback.reason
    # Reversing the same credit again (another path, a retry) adds nothing.
    from rewards.clawbacks import reward_reverse

    with transaction.atomic():
        again = reward_reverse(
            dao=world.dao,
            source_type="contributions.contribution",
            source_ids=[str(target.pk)],
            reason="again",
            ordered_by=("test", "1"),
            beneficiary=None,
            share_bps=0,
            actor=None,
        )
    assert again.clawbacks == [] and Clawback.objects.count() == 1
    assert AuditEvent.objects.filter(verb="clawback.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_upholding_at_once_reverse_once() -> None:
    world = make_disputed(challenge_share_bps=2000)
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    pk = _challenge(world, target)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def uphold(actor) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=10)
            services.challenge_uphold(challenge_id=pk, actor=actor)
            outcomes.append("upheld")
        except services.ChallengeRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=uphold, args=(a,)) for a in (world.admin, world.other_admin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["already_decided", "upheld"]
    assert Clawback.objects.count() == 1
    assert AuditEvent.objects.filter(verb="challenge.upheld").count() == 1


def test_the_console_lists_and_decides_challenges(world: Disputed) -> None:
    target = world.pinned()
    pk = _challenge(world, target)
    admin = client_of(world.admin)
    listing = admin.get("/admin/disputes/challenge/?queue=undecided").content.decode()
    assert f"contribution {target.pk}" in listing and "Review and decide" in listing
    page = admin.get(f"/admin/disputes/challenge/{pk}/decide/").content.decode()
    assert "Uphold: reverse the work" in page
    r = admin.post(f"/admin/disputes/challenge/{pk}/decide/", {"action": "uphold", "note": "x"})
    assert r.status_code == 302
    assert Challenge.objects.get(pk=pk).status == ChallengeStatus.UPHELD
    # Deciding again from the page is refused in words, not with an error page.
    r = admin.post(f"/admin/disputes/challenge/{pk}/decide/", {"action": "reject"}, follow=True)
    assert "already decided" in r.content.decode()


def test_the_decide_page_in_chinese(world: Disputed) -> None:
    pk = _challenge(world, world.pinned())
    page = client_of(world.admin).get(
        f"/admin/disputes/challenge/{pk}/decide/", headers={"accept-language": "zh-hans"}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert '<th scope="row">陈述</th>' in html and "保证金" in html and "尚未运行" in html
    assert 'value="裁决"' in html
    assert "%(" not in html and "Statement" not in html
