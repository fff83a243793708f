"""Attack: stall the chain reader with a long way to read. A DAO whose contract was deployed
long before it was set (or a reader down for days) leaves thousands of ranges between the
cursor and the head; one pass used to read them all, holding every other DAO's pass behind it
(``watch_all`` reads one DAO after another), and its read of the "unconfirmed" blocks could
span the whole way in one ``eth_getLogs``. Now a pass reads at most ``MAX_RANGES_PER_PASS``
ranges, records the head (so the lag shows), and reads unconfirmed blocks only once caught up;
successive passes reach the head having read every event once. On Hardhat's node."""

from __future__ import annotations

import pytest
from django.test import override_settings

from rewards import watch
from rewards.models import ChainCursor, ChainEvent
from rewards.selectors import PAID
from tests.chainnode import ChainNode
from tests.rewards.test_chain_settlement import (  # noqa: F401  (chain: a fixture)
    CLAIMERS,
    CONFIRMATIONS,
    _claim,
    _closed_epoch,
    _deployed_dao,
    _relay_until_set,
    _state,
    chain,
)

pytestmark = pytest.mark.django_db

RANGE = 10


def test_a_long_way_behind_is_read_over_bounded_passes(chain: ChainNode) -> None:  # noqa: F811
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    _relay_until_set(epoch)
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)  # the cursor is past the root...
    chain.mine(2000)  # ...then the reader is down for a long way...
    _claim(chain, epoch, CLAIMERS[0])  # ...with a claim at its end
    chain.mine(CONFIRMATIONS)
    with override_settings(CHAIN_LOG_BLOCK_RANGE=RANGE):
        first = watch.watch_dao(dao_id=dao.pk)
        cursor = ChainCursor.objects.get(dao=dao)
        # One pass went at most its share of the way, read no unconfirmed block, and says how
        # far behind it is.
        assert first.final_to < first.head - CONFIRMATIONS
        assert cursor.block == first.final_to and cursor.head == first.head
        assert first.pending_events == 0
        assert not ChainEvent.objects.filter(dao=dao, confirmed=False).exists()
        passes = 1
        while watch.watch_dao(dao_id=dao.pk).final_to < first.head - CONFIRMATIONS:
            passes += 1
            assert passes < 20
    assert passes >= 2000 // (watch.MAX_RANGES_PER_PASS * RANGE)
    names = sorted(ChainEvent.objects.filter(dao=dao).values_list("name", flat=True))
    assert names == ["Claimed", "EpochRootSet"]
    assert _state(epoch, CLAIMERS[0]) == PAID
