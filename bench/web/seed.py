"""The web benchmark's data: bulk contributions, rewards and epochs on top of the demo DAO, in
SQL; and signed-in sessions for the pages that need one."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from bench.web.seed_more import seed_more

CONTRIBUTORS = 300
DAYS = 90
HEAVY_SHARE = 50  # every 50th contribution is the heavy contributor's: 2 %
# Three closed epochs of 27 days; the open one has run for the last 9 days (10 % of the credits).
EPOCH_DAYS = 27

SEED_SQL = """
INSERT INTO contributions_contribution (
    dataset_id, contributor_id, status, sha256, size, media_type, original_name, storage_name,
    signature, signed, reasons, report, authenticity, ownership, quality, uniqueness, score,
    validator_version, review, cid, failure, attempts, created_at, status_changed_at,
    sealed_key, request_id
)
SELECT
    CASE WHEN g %% 5 < 3 THEN %(tabular)s ELSE %(files)s END,
    CASE WHEN g %% %(heavy)s = 0 THEN %(heavy_user)s
         ELSE (%(users)s::bigint[])[1 + (g * 7919) %% cardinality(%(users)s::bigint[])] END,
    s.status,
    encode(sha256(('bench-web-' || g)::bytea), 'hex'),
    1000 + (g * 104729) %% 5000000,
    CASE WHEN g %% 5 < 3 THEN 'text/csv' ELSE 'image/png' END,
    'file-' || g || CASE WHEN g %% 5 < 3 THEN '.csv' ELSE '.png' END,
    'bench-' || g,
    '', g %% 3 = 0,
    CASE WHEN s.status = 'rejected' THEN '["a value is out of range"]' ELSE '[]' END::jsonb,
    '{}'::jsonb,
    CASE WHEN s.scored THEN 10000 END,
    CASE WHEN s.scored THEN (CASE WHEN g %% 3 = 0 THEN 10000 ELSE 0 END) END,
    CASE WHEN s.scored THEN 5000 + (g * 31) %% 5001 END,
    CASE WHEN s.scored THEN 7000 + (g * 17) %% 3001 END,
    CASE WHEN s.scored THEN 4000 + (g * 13) %% 6001 END,
    CASE WHEN s.scored THEN 1 END,
    '',
    CASE WHEN s.status = 'pinned' THEN 'bafkrei' || substr(md5(g::text), 1, 20) ELSE '' END,
    CASE WHEN s.status = 'failed' THEN 'bench: gave up after 5 attempts' ELSE '' END,
    CASE WHEN s.status = 'failed' THEN 5 ELSE 1 END,
    t.at,
    t.at + interval '30 seconds',
    '', ''
FROM generate_series(1::bigint, %(n)s) AS g
CROSS JOIN LATERAL (
    SELECT now() - make_interval(secs => ((g::bigint * 2654435761) %% (%(days)s * 86400))::float8)
        AS at
) AS t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN g %% 100 < 80 THEN 'pinned'
        WHEN g %% 100 < 92 THEN 'rejected'
        WHEN g %% 100 < 94 THEN 'failed'
        WHEN g %% 100 < 96 THEN 'received'
        WHEN g %% 100 < 97 THEN 'validating'
        WHEN g %% 100 < 98 THEN 'accepted'
        ELSE 'pinning'
    END AS status, g %% 100 < 92 OR g %% 100 >= 97 AS scored
) AS s
"""


REWARD_ENTRIES_SQL = """
INSERT INTO rewards_rewardentry (
    dao_id, dataset_id, account_id, amount, reason, source_type, source_id, epoch_id, created_at
)
SELECT %(dao)s, c.dataset_id, c.contributor_id, c.score::numeric * 10^14,
       'contribution', 'bench-contribution', c.id::text,
       CASE
           WHEN c.status_changed_at < %(e1)s THEN %(id1)s
           WHEN c.status_changed_at < %(e2)s THEN %(id2)s
           WHEN c.status_changed_at < %(e3)s THEN %(id3)s
           ELSE NULL
       END,
       c.status_changed_at
FROM contributions_contribution c
WHERE c.status = 'pinned' AND c.storage_name LIKE 'bench-%%'
"""

ALLOCATIONS_SQL = """
INSERT INTO rewards_allocation (epoch_id, account, amount, tree_index)
SELECT r.epoch_id, u.address, sum(r.amount),
       count(*) OVER (PARTITION BY r.epoch_id) - 1
       + row_number() OVER (PARTITION BY r.epoch_id ORDER BY u.address) - 1
FROM rewards_rewardentry r JOIN datadao_user u ON u.id = r.account_id
WHERE r.epoch_id = ANY(%(closed)s)
GROUP BY r.epoch_id, u.address
"""

# Each closed epoch's tree (2n - 1 nodes of 32 bytes, in rows of 2,048 nodes), filled with
# stand-in hashes: the pages read proofs out of these rows as they would from a real tree.
TREE_SQL = """
INSERT INTO rewards_epochtreechunk (epoch_id, index, nodes)
SELECT e.epoch_id, g.i, decode(repeat(md5(e.epoch_id || ':' || g.i), 4096), 'hex')
FROM (SELECT epoch_id, count(*) AS n FROM rewards_allocation
      WHERE epoch_id = ANY(%(closed)s) GROUP BY epoch_id) AS e,
     generate_series(0, (2 * e.n - 2) / 2048) AS g(i)
"""

EPOCH_TOTALS_SQL = (
    "UPDATE rewards_epoch e SET total = coalesce("
    "(SELECT sum(amount) FROM rewards_allocation a WHERE a.epoch_id = e.id), 0) "
    "WHERE e.dao_id = %s"
)

COUNTED_TABLES = (
    "contributions_contribution",
    "rewards_rewardentry",
    "rewards_allocation",
    "labeling_labeltask",
    "labeling_label",
    "datadao_membership",
    "contributions_release",
    "webhooks_webhookdelivery",
)


def seed(n: int) -> dict[str, Any]:
    """Bulk data on top of the demo DAO; returns what the pages are about."""
    from django.db import transaction

    from datadao.demo import DEMO_DAO_SLUG, demo_address
    from datadao.models import DAO, Dataset, User

    dao = DAO.objects.get(slug=DEMO_DAO_SLUG)
    creator = User.objects.get(address=demo_address("creator"))
    alice = User.objects.get(address=demo_address("alice"))
    tabular = Dataset.objects.get(dao=dao, slug="air-readings")
    files = Dataset.objects.get(dao=dao, slug="street-photos")
    labeling = Dataset.objects.get(dao=dao, slug="digit-labels")
    timing: dict[str, float] = {}
    with transaction.atomic():
        started = time.perf_counter()
        _contributions(n, dao=dao, tabular_id=tabular.pk, files_id=files.pk, heavy_id=alice.pk)
        timing["contributions"] = time.perf_counter() - started
        started = time.perf_counter()
        _rewards(dao)
        timing["rewards"] = time.perf_counter() - started
        started = time.perf_counter()
        more = seed_more(dao=dao, creator=creator, dataset_ids=[tabular.pk])
        timing["release_and_webhooks"] = time.perf_counter() - started
    # What beat's fold_tallies would have done by the time anyone looks: the seed's one big
    # insert left its tally changes as deltas.
    from contributions.tasks import fold_tallies

    started = time.perf_counter()
    timing["tally_deltas_folded"] = fold_tallies()
    timing["tally_fold"] = time.perf_counter() - started
    started = time.perf_counter()
    rows, alice_count = _analyze_and_count(alice.pk)
    timing["analyze"] = time.perf_counter() - started
    return {
        "dao": dao.slug,
        "dao_name": dao.name,
        "dataset": tabular.slug,
        "dataset_name": tabular.name,
        "labeling_dataset": labeling.slug,
        "labeling_dataset_name": labeling.name,
        **more,
        "creator_id": creator.pk,
        "contributor_id": alice.pk,
        "contributor_contributions": alice_count,
        "rows": rows,
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
    }


def _contributions(n: int, *, dao: Any, tabular_id: int, files_id: int, heavy_id: int) -> None:
    """CONTRIBUTORS more members, then ``n`` contributions over the two datasets (SEED_SQL)."""
    from django.db import connection

    from datadao.demo import demo_address
    from datadao.models import Membership, Role, User

    users = User.objects.bulk_create(
        User(address=demo_address(f"bench-{i}"), display_name=f"Bench {i}")
        for i in range(CONTRIBUTORS)
    )
    Membership.objects.bulk_create(
        Membership(dao=dao, user=u, role=Role.CONTRIBUTOR) for u in users
    )
    with connection.cursor() as cursor:
        cursor.execute(
            SEED_SQL,
            {
                "tabular": tabular_id, "files": files_id, "heavy_user": heavy_id,
                "users": [u.pk for u in users], "n": n, "heavy": HEAVY_SHARE, "days": DAYS,
            },
        )  # fmt: skip


def _rewards(dao: Any) -> None:
    """Epochs: three closed, EPOCH_DAYS each, and the open one since; a credit per pinned
    contribution, settled in the closed epoch of its day or, in the open one's days, unsettled
    (no epoch yet: what the open epoch has accrued); each closed epoch's allocations and total."""
    from django.db import connection

    from rewards.models import Epoch, EpochStatus

    Epoch.objects.filter(dao=dao).delete()
    now = time.time()
    epochs = []
    for number in (1, 2, 3):
        epochs.append(
            Epoch.objects.create(
                dao=dao,
                number=number,
                status=EpochStatus.CLOSED,
                opened_at=_ts(now - (DAYS - EPOCH_DAYS * (number - 1)) * 86400),
                closed_at=_ts(now - (DAYS - EPOCH_DAYS * number) * 86400),
                root="0x" + hashlib.sha256(f"epoch-{number}".encode()).hexdigest(),
            )
        )
    Epoch.objects.create(dao=dao, number=4, opened_at=epochs[-1].closed_at)
    with connection.cursor() as cursor:
        cursor.execute(
            REWARD_ENTRIES_SQL,
            {
                "dao": dao.pk,
                **{f"e{i + 1}": e.closed_at for i, e in enumerate(epochs)},
                **{f"id{i + 1}": e.pk for i, e in enumerate(epochs)},
            },
        )  # fmt: skip
        cursor.execute(ALLOCATIONS_SQL, {"closed": [e.pk for e in epochs]})
        cursor.execute(TREE_SQL, {"closed": [e.pk for e in epochs]})
        cursor.execute(EPOCH_TOTALS_SQL, [dao.pk])


def _analyze_and_count(heavy_id: int) -> tuple[dict[str, int], int]:
    """``ANALYZE``, then the rows of each counted table and the heavy contributor's share."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        rows = {}
        for table in COUNTED_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            rows[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM contributions_contribution WHERE contributor_id = %s", [heavy_id]
        )
        return rows, cursor.fetchone()[0]


def _ts(epoch_seconds: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)


def session_for(user_id: int) -> str:
    """A signed-in session, as ``login()`` leaves it, stored where the settings say."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from datadao.models import User

    user = User.objects.get(pk=user_id)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key
