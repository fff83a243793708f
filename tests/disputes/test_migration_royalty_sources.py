"""disputes 0002: royalty payments credited before payments named their sources get them from
the release's manifest, so an upheld challenge reverses their royalties too; a payment whose
scores the manifest cannot account for is left alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.royalties import release_shares
from datadao.models import DatasetStatus
from rewards.models import RoyaltyPayment
from rewards.royalties import royalty_distribute
from tests.disputes.conftest import make_disputed

BEFORE = [("disputes", "0001_initial")]


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_legacy_payments_get_their_sources_from_the_release() -> None:
    _migrate(BEFORE)
    try:
        world = make_disputed()
        bystander = world.member()
        first = world.pinned(score=6000)
        second = world.pinned(score=2000)
        third = world.pinned(bystander, score=2000)
        world.dataset.status = DatasetStatus.OPEN
        world.dataset.save(update_fields=["status"])
        release = release_publish(dataset=world.dataset, actor=None)

        def pay(key: str) -> RoyaltyPayment:
            # As payments were credited before: (user id, score) only.
            return royalty_distribute(
                dao=world.dao,
                dataset=world.dataset,
                payment_key=key,
                amount=1000,
                shares=release_shares(release),
                release_cid=release.cid,
            )

        whole = pay("0xold1")
        # The author's second contribution is rejected later, then another payment is made:
        # it paid only the first one, which the live contributions account for.
        Contribution.objects.filter(pk=second.pk).update(status=Status.REJECTED)
        later = pay("0xold2")
        # A payment whose recorded score matches nothing in the manifest stays as it is.
        odd = pay("0xold3")
        odd.shares = [{**row, "score": row["score"] + 1} for row in odd.shares]
        odd.save(update_fields=["shares"])
        assert RoyaltyPayment.objects.exclude(sources=[]).count() == 0
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    def named(payment: RoyaltyPayment) -> list[tuple[int, int, str]]:
        payment.refresh_from_db()
        return sorted((r["account"], r["score"], r["source"]) for r in payment.sources)

    source = "contributions.contribution:{}".format
    author, other = world.author.pk, bystander.pk
    assert named(whole) == sorted(
        [
            (author, 6000, source(first.pk)),
            (author, 2000, source(second.pk)),
            (other, 2000, source(third.pk)),
        ]
    )
    assert named(later) == sorted(
        [(author, 6000, source(first.pk)), (other, 2000, source(third.pk))]
    )
    assert named(odd) == []
