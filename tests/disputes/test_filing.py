"""Filing a challenge: who may, what, until when, how often; every refusal names its problem
and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.utils import timezone

from contributions.models import Contribution, Status
from datadao.models import AuditEvent
from disputes.models import Challenge, ChallengeStatus
from tests.disputes.conftest import Disputed, client_of, file, make_disputed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_challenges_a_pinned_contribution_and_the_replay_is_queued(
    world: Disputed, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    target = world.pinned()
    with django_capture_on_commit_callbacks() as callbacks:
        response = file(
            client_of(world.challenger),
            world.dao,
            target="contribution",
            target_id=target.pk,
            reason="replay",
            statement="the quality score looks inflated",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["bond_status"] == "none"
    assert body["target"] == {"type": "contribution", "id": target.pk}
    assert len(callbacks) == 1  # the replay task, sent once the challenge is committed
    assert AuditEvent.objects.filter(verb="challenge.filed", object_id=str(body["id"])).exists()
    assert client_of(world.author).get(body["url"]).json()["statement"].startswith("the quality")


def _refused(response, status: int, code: str, words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert words in response.json()["detail"]


def test_refusals_name_the_problem_and_store_nothing(world: Disputed) -> None:
    target = world.pinned()
    me = client_of(world.challenger)
    _refused(file(Client(), world.dao, target="contribution"), 401, "unauthenticated", "Sign in")
    response = me.post(
        f"/api/daos/{world.dao.slug}/challenges", "{nope", content_type="application/json"
    )
    _refused(response, 400, "bad_request", "not valid JSON")
    _refused(
        file(me, world.dao, target="release", target_id=target.pk, reason="replay"),
        400,
        "bad_request",
        "target must be",
    )
    _refused(
        file(me, world.dao, target="contribution", target_id=True, reason="replay"),
        400,
        "bad_request",
        "target_id must be a positive integer",
    )
    _refused(
        file(me, world.dao, target="contribution", target_id=target.pk, reason="ugly"),
        400,
        "bad_request",
        "reason must be one of duplicate, schema, replay",
    )
    _refused(
        file(me, world.dao, target="contribution", target_id=target.pk, reason="duplicate"),
        400,
        "bad_request",
        "duplicate_of must be a positive integer",
    )
    later = world.pinned(world.member())
    _refused(
        file(
            me,
            world.dao,
            target="contribution",
            target_id=target.pk,
            reason="duplicate",
            duplicate_of=later.pk,
        ),
        400,
        "bad_request",
        f"came after {target.pk}",
    )
    _refused(
        file(me, world.dao, target="contribution", target_id=2_000_000_000, reason="replay"),
        404,
        "not_found",
        "no contribution 2000000000",
    )
    _refused(
        file(
            client_of(UserFactory()),
            world.dao,
            target="contribution",
            target_id=target.pk,
            reason="replay",
        ),
        403,
        "not_member",
        "Only members",
    )
    _refused(
        file(
            client_of(world.author),
            world.dao,
            target="contribution",
            target_id=target.pk,
            reason="replay",
        ),
        403,
        "own_work",
        "your own",
    )
    rejected = world.pinned()
    Contribution.objects.filter(pk=rejected.pk).update(status=Status.REJECTED)
    _refused(
        file(me, world.dao, target="contribution", target_id=rejected.pk, reason="replay"),
        409,
        "not_challengeable",
        "only an accepted (pinned) contribution",
    )
    assert not Challenge.objects.exists()


def test_a_challenge_after_the_window_is_refused(world: Disputed) -> None:
    old = world.pinned()
    window = world.dao.challenge_window_seconds
    Contribution.objects.filter(pk=old.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=window + 60)
    )
    response = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=old.pk,
        reason="schema",
    )
    _refused(response, 409, "window_closed", "challenge window of contribution")
    assert not Challenge.objects.exists()
    # Just inside the window it is heard.
    Contribution.objects.filter(pk=old.pk).update(
        status_changed_at=timezone.now() - timedelta(seconds=window - 60)
    )
    response = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=old.pk,
        reason="schema",
    )
    assert response.status_code == 201


def test_anyone_may_challenge_only_where_the_dao_says_so() -> None:
    world = make_disputed(challenge_open_to_anyone=True)
    target = world.pinned()
    outsider = client_of(UserFactory())
    response = file(
        outsider, world.dao, target="contribution", target_id=target.pk, reason="replay"
    )
    assert response.status_code == 201
    # A members-only dataset's work stays invisible to a non-member: no such contribution.
    world.dataset.visibility = "members"
    world.dataset.save(update_fields=["visibility"])
    other = world.pinned()
    response = file(outsider, world.dao, target="contribution", target_id=other.pk, reason="replay")
    _refused(response, 404, "not_found", f"no contribution {other.pk} you can see")


def test_one_unresolved_challenge_per_target_per_challenger(world: Disputed) -> None:
    target = world.pinned()
    me = client_of(world.challenger)
    body = {"target": "contribution", "target_id": target.pk, "reason": "replay"}
    assert file(me, world.dao, **body).status_code == 201
    _refused(file(me, world.dao, **body), 409, "already_challenged", "unresolved challenge")
    # The constraint holds below the service too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.create(
            dao=world.dao,
            dataset=world.dataset,
            challenger=world.challenger,
            contribution=target,
            reason="schema",
            status=ChallengeStatus.REVIEW,
            bond_status="none",
        )
    # Another challenger may challenge the same work.
    assert file(client_of(world.member()), world.dao, **body).status_code == 201
    assert Challenge.objects.filter(contribution=target).count() == 2


def test_spam_is_bounded_per_challenger(world: Disputed) -> None:
    me = client_of(world.challenger)
    targets = [world.pinned() for _ in range(4)]
    with override_settings(DISPUTES_MAX_OPEN=2, DISPUTES_DAILY_LIMIT=3):
        for t in targets[:2]:
            r = file(me, world.dao, target="contribution", target_id=t.pk, reason="replay")
            assert r.status_code == 201
        r = file(me, world.dao, target="contribution", target_id=targets[2].pk, reason="replay")
        _refused(r, 429, "too_many_open", "2 unresolved challenges")
        assert r["Retry-After"]
        # Decided challenges free the open slots, but not the day's count.
        Challenge.objects.filter(challenger=world.challenger).update(
            status=ChallengeStatus.REJECTED, resolved_at=timezone.now()
        )
        r = file(me, world.dao, target="contribution", target_id=targets[2].pk, reason="replay")
        assert r.status_code == 201
        r = file(me, world.dao, target="contribution", target_id=targets[3].pk, reason="replay")
        _refused(r, 429, "rate_limited", "3 challenges")
        assert 0 < int(r["Retry-After"]) <= 24 * 3600 + 1
    assert Challenge.objects.filter(challenger=world.challenger).count() == 3


def test_with_a_bond_the_challenge_waits_until_an_admin_records_it(
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    world = make_disputed(challenge_bond=500)
    target = world.pinned()
    with django_capture_on_commit_callbacks() as callbacks:
        r = file(
            client_of(world.challenger),
            world.dao,
            target="contribution",
            target_id=target.pk,
            reason="schema",
        )
    assert r.status_code == 201 and len(callbacks) == 0  # nothing heard before the bond
    body = r.json()
    assert (body["status"], body["bond"], body["bond_status"]) == ("bond_due", "500", "due")
    from disputes import services

    with pytest.raises(services.ChallengeRefused) as refused:
        services.challenge_bond_record(
            challenge_id=body["id"], actor=world.challenger, reference="0xabc"
        )
    assert refused.value.status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        challenge = services.challenge_bond_record(
            challenge_id=body["id"], actor=world.admin, reference="0x" + "12" * 32
        )
    assert challenge.status == "open" and challenge.bond_status == "posted"
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(verb="challenge.bond_posted").count() == 1
