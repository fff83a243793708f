"""Which royalty credit is whose, and which work earned it: the keys of royalty entries and the
lookup of the credits a piece of work earned part of (``RoyaltyPayment.sources``). Shared by
the royalties' writer, the epoch close (holds) and the reversal of a challenged work's credits
(``rewards.clawbacks``); imports only the models, so none of them imports another."""

from __future__ import annotations

from datadao.models import DAO
from rewards.models import RoyaltyPayment

SOURCE_TYPE = "rewards.royaltypayment"


def royalty_source_id(payment_id: int, account_id: int | None) -> str:
    """The entry's source id: the payment and the payee (``treasury`` for the DAO's part), so
    one payment credits each payee once (the entries' unique (source, reason) key)."""
    return f"{payment_id}:{'treasury' if account_id is None else account_id}"


def royalty_credits_earned_by(*, dao: DAO, sources: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (source type, source id) of every royalty credit in ``dao`` that one of ``sources``
    (e.g. ("contributions.contribution", "12")) earned part of, by the payments' sources."""
    wanted = {f"{source_type}:{source_id}" for source_type, source_id in sources}
    found = set()
    rows = RoyaltyPayment.objects.filter(dao=dao).exclude(sources=[]).values_list("pk", "sources")
    for pk, listed in rows.iterator(chunk_size=500):
        for row in listed or []:
            if row.get("source") in wanted:
                found.add((SOURCE_TYPE, royalty_source_id(pk, int(row["account"]))))
    return found
