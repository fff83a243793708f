"""Data rights' part of a personal export (``datadao.personal``): the grants naming the
person's wallet and their purchases; the grants that covered their data; how their data was
read (when, what, on which basis and grant); and what they read themselves. Readers of their
data are not named: who a DAO's consumers are is the DAO's to see (its console's read log);
the contributor gets the use of their data, not the identities of its users."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Q

from contributions.models import Contribution, Release
from datadao.personal import json_file
from rights import selectors
from rights.models import AccessGrant, Purchase, ReadEvent

# Each file lists at most this many reads, oldest first (an archive must stay bounded).
MAX_EVENTS = 100_000


def _grant(grant: AccessGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "dao": grant.dao.slug,
        "grantee": grant.grantee,
        "dataset": grant.dataset.slug,
        "release": grant.release.cid if grant.release_id else None,
        "scope": grant.scope,
        "expires_at": grant.expires_at,
        "status": selectors.grant_status(grant),
        "signer": grant.signer,
        "signature": grant.signature,
        "typed_data": grant.typed_data,
        "revoked_at": grant.revoked_at,
    }


def _covering_my_data(user: Any) -> list[AccessGrant]:
    """Grants over a dataset the person contributed to: the whole dataset, or a release that
    lists one of their contributions."""
    datasets = Contribution.objects.filter(contributor=user).values("dataset_id")
    grants = (
        AccessGrant.objects.filter(dataset_id__in=datasets)
        .select_related("dao", "dataset", "release")
        .order_by("pk")
    )
    return [
        g
        for g in grants.iterator(chunk_size=500)
        if g.release_id is None
        or any(
            entry.get("contributor") == user.address
            for entry in g.release.manifest.get("contributions") or []
        )
    ]


def _read(event: ReadEvent, *, with_reader: bool) -> dict[str, Any]:
    row = {
        "at": event.created_at,
        "dao": event.dao.slug,
        "dataset": event.dataset.slug,
        "contribution": event.contribution_id,
        "release": event.release.cid if event.release_id else None,
        "cid": event.cid,
        "basis": event.basis,
        "grant": event.grant_id,
    }
    if with_reader:
        row["reader"] = event.reader.address if event.reader_id else None
    return row


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield (
        "my_grants.json",
        json_file(
            {
                "grants": [
                    _grant(g)
                    for g in AccessGrant.objects.filter(grantee=user.address)
                    .select_related("dao", "dataset", "release")
                    .order_by("pk")
                ],
                "purchases": [
                    {
                        "id": p.pk,
                        "dao": p.dataset.dao.slug,
                        "dataset": p.dataset.slug,
                        "amount": str(int(p.amount)),
                        "payment_address": p.payment_address,
                        "tx_hash": p.tx_hash,
                        "status": p.status,
                        "at": p.created_at,
                        "confirmed_at": p.confirmed_at,
                    }
                    for p in Purchase.objects.filter(consumer=user)
                    .select_related("dataset__dao")
                    .order_by("pk")
                ],
            }
        ),
    )
    yield "grants_over_my_data.json", json_file([_grant(g) for g in _covering_my_data(user)])
    mine = Contribution.objects.filter(contributor=user).values("pk")
    releases = Release.objects.filter(
        dataset_id__in=Contribution.objects.filter(contributor=user).values("dataset_id")
    ).values("pk")
    reads = (
        ReadEvent.objects.filter(Q(contribution_id__in=mine) | Q(release_id__in=releases))
        .select_related("dao", "dataset", "release")
        .order_by("pk")[:MAX_EVENTS]
    )
    yield (
        "reads_of_my_data.json",
        json_file(
            [
                _read(e, with_reader=False)
                for e in reads
                if e.release_id is None
                or any(
                    entry.get("contributor") == user.address
                    for entry in e.release.manifest.get("contributions") or []
                )
            ]
        ),
    )
    yield (
        "my_reads.json",
        json_file(
            [
                _read(e, with_reader=True)
                for e in ReadEvent.objects.filter(reader=user)
                .select_related("dao", "dataset", "release", "reader")
                .order_by("pk")[:MAX_EVENTS]
            ]
        ),
    )
