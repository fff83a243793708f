"""An epoch whose only earner owes more in clawbacks than they earned closes: its allocations
net to zero, what they recovered is recorded and the rest of the debt carried, its root is the
zero root (no tree, nothing relayed or claimed), and its published inputs replay to that root and
total. The next epoch goes on netting."""

from __future__ import annotations

import json

import pytest

from disputes import services
from ipfs.services import content_open_verified
from rewards import epoch_inputs
from rewards.eip712 import recover_typed_data
from rewards.models import Allocation, Clawback, ClawbackDeduction, Epoch
from rewards.relay import RelayRefused, _check_relayable, epochs_to_relay
from rewards.services import epoch_close, epoch_preview
from tests.disputes.conftest import Disputed, client_of, file, make_disputed

pytestmark = pytest.mark.django_db


def _owing(world: Disputed) -> Clawback:
    """The author is paid 1000 in epoch 1, then a challenge of that work is upheld."""
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason="schema",
    )
    services.challenge_uphold(challenge_id=r.json()["id"], actor=world.admin)
    return Clawback.objects.get(account=world.author)


def test_an_epoch_whose_only_earner_owes_more_closes_and_carries_the_rest(settings) -> None:  # type: ignore[no-untyped-def]
    world = make_disputed()
    clawback = _owing(world)
    world.pinned(score=3000)  # 300, the only credit of epoch 2; 1000 owed
    open_ = Epoch.objects.get(dao=world.dao, status="open")
    preview = epoch_preview(epoch=open_)
    assert preview.rows == [] and preview.plan.root == epoch_inputs.EMPTY_ROOT
    assert preview.plan.netted == [(f"rewards.clawback:{clawback.pk}", world.author.address, 300)]

    # Closed from the console, as the admin reviewed it.
    page = client_of(world.dao.creator).get(f"/admin/rewards/epoch/{open_.pk}/close/")
    assert "This epoch pays nobody" in page.content.decode()
    done = client_of(world.dao.creator).post(
        f"/admin/rewards/epoch/{open_.pk}/close/",
        {"confirm": "yes", "root": preview.plan.root},
    )
    assert done.status_code == 302
    epoch = Epoch.objects.get(pk=open_.pk)
    assert epoch.status == "closed"
    assert (epoch.root, int(epoch.total), epoch.dump_cid) == (epoch_inputs.EMPTY_ROOT, 0, "")
    assert not Allocation.objects.filter(epoch=epoch).exists()
    # Signed like any root (verify checks the message against the epoch), relayed never.
    assert epoch.root_typed_data["message"]["root"] == epoch_inputs.EMPTY_ROOT
    assert recover_typed_data(epoch.root_typed_data, epoch.root_signature) == epoch.signer
    settings.CHAIN_RPC_URLS = {world.dao.chain_id: "http://127.0.0.1:1"}
    with pytest.raises(RelayRefused, match="pays nobody"):
        _check_relayable(epoch)
    first = Epoch.objects.get(dao=world.dao, number=1)
    assert epochs_to_relay() == [first.pk]  # the epoch that pays is relayed; this one never
    # What was recovered is recorded and the rest carried.
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 700
    assert int(ClawbackDeduction.objects.get(epoch=epoch).amount) == 300
    # The published inputs replay to the signed root and total.
    with content_open_verified(cid=epoch.inputs_cid) as stream:
        document = json.loads(stream.read())
    settled = epoch_inputs.settle(document)
    assert (settled.root, settled.total, settled.values) == (epoch_inputs.EMPTY_ROOT, 0, [])
    source = f"rewards.clawback:{clawback.pk}"
    assert document["clawbacks"] == [
        {"source": source, "account": world.author.address, "amount": "300"}
    ]

    # The next epoch is open and goes on: 1000 earned, 700 kept back, 300 paid.
    world.pinned()
    third = epoch_close(dao=world.dao, actor=None)
    assert third.number == epoch.number + 1 and int(third.total) == 300
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 0
