"""Disputes on the outside: webhook events for a challenge filed and resolved and for a clawback
made, delivered signed to a real receiver, emitted in the deciding transaction (none for a
refused decision); and the personal export's challenges and clawbacks, of that person only."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from disputes import services
from disputes.errors import ChallengeRefused
from disputes.models import Challenge
from rewards.models import Clawback
from rewards.services import epoch_close
from tests.disputes.conftest import Disputed, client_of, file, make_disputed
from tests.webhooks.conftest import endpoint_for, loopback_allowed  # noqa: F401
from tests.webhooks.receiver import Receiver, receiver  # noqa: F401
from webhooks import tasks
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

EVENTS = ["challenge.opened", "challenge.resolved", "clawback.created"]


def _events(world: Disputed, event_type: str) -> list[dict[str, Any]]:
    return list(
        WebhookEvent.objects.filter(dao=world.dao, type=event_type)
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def _challenge(world: Disputed, target, who) -> int:  # type: ignore[no-untyped-def]
    r = file(client_of(who), world.dao, target="contribution", target_id=target.pk, reason="schema")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_challenges_and_clawbacks_are_delivered_signed(receiver: Receiver) -> None:  # noqa: F811
    world = make_disputed(challenge_share_bps=1000)
    endpoint_for(world.dao, receiver, EVENTS)
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    first = _challenge(world, target, world.challenger)
    second_challenger = world.member()
    second = _challenge(world, target, second_challenger)
    (opened, _) = _events(world, "challenge.opened")
    challenge = Challenge.objects.get(pk=first)
    assert opened == {
        "challenge": {
            "id": first,
            "dataset": {"id": world.dataset.pk, "slug": world.dataset.slug},
            "target": {"type": "contribution", "id": target.pk},
            "reason": "schema",
            "challenger": world.challenger.address,
            "status": "open",
            "bond": "0",
            "bond_status": "none",
            "created_at": challenge.created_at.isoformat().replace("+00:00", "Z"),
        }
    }

    # A refused decision (by the challenger themself) rolls back and emits nothing.
    with pytest.raises(ChallengeRefused):
        services.challenge_uphold(challenge_id=first, actor=world.challenger)
    assert _events(world, "challenge.resolved") == []

    services.challenge_uphold(challenge_id=first, actor=world.admin, note="fake")
    upheld, moot = (e["challenge"] for e in _events(world, "challenge.resolved"))
    assert (upheld["id"], upheld["status"], upheld["by_replay"]) == (first, "upheld", False)
    assert (upheld["withdrawn"], upheld["clawed_back"]) == ("0", "1000")
    assert (moot["id"], moot["status"], moot["by_replay"]) == (second, "moot", False)
    clawback = Clawback.objects.get(account=world.author)
    (made,) = _events(world, "clawback.created")
    assert made["clawback"] == {
        "id": clawback.pk,
        "account": world.author.address,
        "amount": "1000",
        "remaining": "1000",
        "credit": {
            "source": f"contributions.contribution:{target.pk}",
            "reason": "contribution",
            "part": None,
            "epoch": 1,
        },
        "ordered_by": f"disputes.challenge:{first}",
        "created_at": clawback.created_at.isoformat().replace("+00:00", "Z"),
    }
    # No free text travels: the note and the statement stay in the platform.
    assert "fake" not in json.dumps(_events(world, "challenge.resolved"))

    # Each is delivered, signed; the receiver verifies every signature.
    deliveries = WebhookDelivery.objects.filter(endpoint__dao=world.dao).order_by("pk")
    assert deliveries.count() == 5
    for delivery in deliveries:
        assert tasks.deliver(delivery.pk, delivery.next_attempt_at.isoformat()) == "succeeded"
    got = receiver.all()
    assert [r.refusal for r in got] == [None] * 5
    assert [r.headers["x-datadao-event"] for r in got] == [
        "challenge.opened",
        "challenge.opened",
        "clawback.created",  # made while the challenge is upheld, in the same transaction
        "challenge.resolved",
        "challenge.resolved",
    ]
    assert json.loads(got[2].body)["data"] == made


def test_a_dao_nobody_listens_to_records_no_dispute_event() -> None:
    world = make_disputed()
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    services.challenge_uphold(
        challenge_id=_challenge(world, target, world.challenger), actor=world.admin
    )
    assert Clawback.objects.filter(account=world.author).exists()
    assert not WebhookEvent.objects.exists()


def _export(user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client_of(user).get("/api/me/export.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {
        "challenges": json.loads(archive.read("disputes/challenges.json")),
        "rewards": json.loads(archive.read("rewards/rewards.json")),
        "readme": archive.read("README.txt").decode(),
    }


@pytest.mark.django_db(transaction=True)
def test_the_export_holds_my_challenges_and_clawbacks_and_nobody_elses() -> None:
    world = make_disputed()
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    pk = _challenge(world, target, world.challenger)
    services.challenge_uphold(challenge_id=pk, actor=world.admin, note="made up")
    world.pinned(score=4000)  # 400 kept back in epoch 2
    world.pinned(world.member())
    epoch_close(dao=world.dao, actor=None)

    author = _export(world.author)
    assert author["challenges"]["raised"] == []
    (mine,) = author["challenges"]["of_your_work"]
    assert (mine["id"], mine["status"], mine["resolution"]) == (pk, "upheld", "made up")
    (clawback,) = author["rewards"]["clawbacks"]
    assert (clawback["amount"], clawback["remaining"]) == ("1000", "600")
    assert clawback["credit"] == f"contributions.contribution:{target.pk}"
    assert clawback["deductions"][0]["amount"] == "400"
    assert clawback["deductions"][0]["epoch"] == 2
    assert "disputes/: the challenges you filed" in author["readme"]

    challenger = _export(world.challenger)
    assert [c["id"] for c in challenger["challenges"]["raised"]] == [pk]
    assert challenger["challenges"]["of_your_work"] == []
    assert challenger["rewards"]["clawbacks"] == []

    bystander = _export(world.member())
    assert bystander["challenges"] == {"raised": [], "of_your_work": []}
    assert bystander["rewards"]["clawbacks"] == [] == bystander["rewards"]["royalty_reversals"]
