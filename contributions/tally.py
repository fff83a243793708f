"""Contribution tallies: counts per dataset, day and status without counting rows.

The DAO page, the dataset page and the console dashboard each showed counts over all of a
DAO's contributions, and at a million rows every one of them was a 250 ms to 1 s scan. The
tallies (``Tally``) hold the same counts per (dataset, UTC day of creation, current status).

Who keeps them: the database. Triggers on ``contributions_contribution`` append each write
statement's net change to ``TallyDelta`` inside the writer's transaction: so a change and its
count commit or roll back together, whatever wrote it (a service, the batch lane's bulk update,
the admin, a manual fix), and writers never queue on a shared counter row, because they only
append. ``fold`` (a periodic task) moves committed deltas into ``Tally``; readers add the two in
one statement, so they see exact counts whether or not the fold has run.

PostgreSQL runs a statement-level trigger per insert, update or delete (the batch lane's update
of 32 rows costs one aggregate insert, and an update that changes no counted column nets to
nothing and appends nothing). SQLite, the embedded default, runs row triggers.
"""

# ruff: noqa: S608  (every statement here is built from constants; values go as parameters)
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from contributions.models import TALLY_COUNTS, TALLY_SCORE_BINS

# Score histogram: bins of this many basis points; the top score (10,000) falls in the last.
SCORE_BIN_WIDTH = 1_000
FOLD_BATCH = 50_000

_TABLE = "contributions_contribution"
_COUNTS = ", ".join(TALLY_COUNTS)


def _day_sql(vendor: str, created_at: str = "created_at") -> str:
    """A contribution's tally day, the UTC date it was created, for the triggers and the
    recount alike (Django keeps SQLite's datetimes as UTC text)."""
    if vendor == "postgresql":
        return f"({created_at} AT TIME ZONE 'UTC')::date"
    return f"date({created_at})"


# --- PostgreSQL: one statement-level trigger function for inserts, updates and deletes -------

# A contribution row as the tally sees it, signed: +1 for a row as it is now, -1 as it was.
_PG_ROW = f"""dataset_id, contributor_id, {_day_sql("postgresql")} AS day, status,
    (near_duplicate_of_id IS NOT NULL)::int AS near, (review = 'pending')::int AS pending,
    CASE WHEN score IS NOT NULL THEN least(score / {SCORE_BIN_WIDTH}, {TALLY_SCORE_BINS - 1})
    END AS bin"""  # (least() would skip a NULL)
_PG_SUMS = ",\n    ".join(
    [
        "sum(sign)",
        "sum(sign * near)",
        "sum(sign * pending)",
        *(f"coalesce(sum(sign) FILTER (WHERE bin = {i}), 0)" for i in range(TALLY_SCORE_BINS)),
    ]
)
# Groups whose changes cancel out (an update of columns the tally does not count, say a lease)
# append nothing.
_PG_NONZERO = " OR ".join(
    [
        "sum(sign) <> 0",
        "sum(sign * near) <> 0",
        "sum(sign * pending) <> 0",
        *(f"sum(sign) FILTER (WHERE bin = {i}) <> 0" for i in range(TALLY_SCORE_BINS)),
    ]
)


def _pg_append(rows: str) -> str:
    return f"""
    INSERT INTO contributions_tallydelta (dataset_id, contributor_id, day, status, {_COUNTS})
    SELECT dataset_id, contributor_id, day, status,
    {_PG_SUMS}
    FROM ({rows}) AS changed
    GROUP BY dataset_id, contributor_id, day, status
    HAVING {_PG_NONZERO};"""


PG_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION contributions_tally_delta() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN{_pg_append(f"SELECT {_PG_ROW}, 1 AS sign FROM new_rows")}
  ELSIF TG_OP = 'UPDATE' THEN{
        _pg_append(
            f"SELECT {_PG_ROW}, 1 AS sign FROM new_rows "
            f"UNION ALL SELECT {_PG_ROW}, -1 AS sign FROM old_rows"
        )
    }
  ELSIF TG_OP = 'DELETE' THEN{_pg_append(f"SELECT {_PG_ROW}, -1 AS sign FROM old_rows")}
  ELSE -- TRUNCATE: nothing left to count
    DELETE FROM contributions_tallydelta;
    DELETE FROM contributions_tally;
    DELETE FROM contributions_contributortally;
  END IF;
  RETURN NULL;
END
$fn$""",
    f"""CREATE TRIGGER contributions_tally_insert AFTER INSERT ON {_TABLE}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contributions_tally_delta()""",
    f"""CREATE TRIGGER contributions_tally_update AFTER UPDATE ON {_TABLE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contributions_tally_delta()""",
    f"""CREATE TRIGGER contributions_tally_delete AFTER DELETE ON {_TABLE}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contributions_tally_delta()""",
    f"""CREATE TRIGGER contributions_tally_truncate AFTER TRUNCATE ON {_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION contributions_tally_delta()""",
]
PG_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS contributions_tally_{event} ON {_TABLE}"
    for event in ("insert", "update", "delete", "truncate")
] + ["DROP FUNCTION IF EXISTS contributions_tally_delta()"]

# --- SQLite: row triggers ----------------------------------------------------------------------


def _sqlite_values(row: str, sign: int) -> str:
    bin_ = f"min({row}.score / {SCORE_BIN_WIDTH}, {TALLY_SCORE_BINS - 1})"
    bins = ", ".join(f"{sign} * coalesce({bin_} = {i}, 0)" for i in range(TALLY_SCORE_BINS))
    return (
        f"({row}.dataset_id, {row}.contributor_id, {_day_sql('sqlite', f'{row}.created_at')}, "
        f"{row}.status, {sign}, "
        f"{sign} * ({row}.near_duplicate_of_id IS NOT NULL), "
        f"{sign} * ({row}.review = 'pending'), {bins})"
    )


_SQLITE_INSERT = (
    "INSERT INTO contributions_tallydelta "
    f"(dataset_id, contributor_id, day, status, {_COUNTS}) VALUES"
)
_SQLITE_COUNTED = (
    "dataset_id",
    "contributor_id",
    "created_at",
    "status",
    "near_duplicate_of_id",
    "review",
    "score",
)
SQLITE_INSTALL = [
    f"""CREATE TRIGGER contributions_tally_insert AFTER INSERT ON {_TABLE} BEGIN
    {_SQLITE_INSERT} {_sqlite_values("NEW", 1)}; END""",
    f"""CREATE TRIGGER contributions_tally_update AFTER UPDATE OF {", ".join(_SQLITE_COUNTED)}
    ON {_TABLE}
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _SQLITE_COUNTED)} BEGIN
    {_SQLITE_INSERT} {_sqlite_values("OLD", -1)}, {_sqlite_values("NEW", 1)}; END""",
    f"""CREATE TRIGGER contributions_tally_delete AFTER DELETE ON {_TABLE} BEGIN
    {_SQLITE_INSERT} {_sqlite_values("OLD", -1)}; END""",
]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS contributions_tally_{e}" for e in ("insert", "update", "delete")
]

# What the tallies must equal, counted from the contributions themselves: the backfill when
# the triggers are installed, and the check in the tests. Portable SQL.
_IN_BIN = "CASE WHEN score >= {lo} AND (score < {hi} OR {last}) THEN 1 ELSE 0 END"
RECOUNT_SQL = f"""
SELECT dataset_id, {{day}} AS day, status, count(*),
  sum(CASE WHEN near_duplicate_of_id IS NOT NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN review = 'pending' THEN 1 ELSE 0 END),
  {
    ", ".join(
        "sum("
        + _IN_BIN.format(
            lo=i * SCORE_BIN_WIDTH,
            hi=(i + 1) * SCORE_BIN_WIDTH,
            last="1 = 1" if i == TALLY_SCORE_BINS - 1 else "1 = 0",
        )
        + ")"
        for i in range(TALLY_SCORE_BINS)
    )
}
FROM {_TABLE} GROUP BY dataset_id, {{day}}, status
"""
RECOUNT_CONTRIBUTORS_SQL = f"""
SELECT contributor_id, dataset_id, status, count(*) FROM {_TABLE}
GROUP BY contributor_id, dataset_id, status
"""


def install(schema_editor: Any) -> None:
    """Create the triggers and fill the tallies from the contributions there are (migration).

    On PostgreSQL the migration's transaction holds the table's trigger lock from the first
    trigger on, so no write falls between the backfill and the triggers."""
    vendor = schema_editor.connection.vendor
    for sql in PG_INSTALL if vendor == "postgresql" else SQLITE_INSTALL:
        schema_editor.execute(sql)
    schema_editor.execute(
        f"INSERT INTO contributions_tally (dataset_id, day, status, {_COUNTS}) "
        + RECOUNT_SQL.format(day=_day_sql(vendor))
    )
    schema_editor.execute(
        "INSERT INTO contributions_contributortally (contributor_id, dataset_id, status, n) "
        + RECOUNT_CONTRIBUTORS_SQL
    )


def sqlite_triggers_back(schema_editor: Any) -> None:
    """Re-create the SQLite triggers after a migration that rebuilt the contributions table
    (SQLite alters a table by copying it, which drops its triggers): a migration that adds a
    column with a default or changes a constraint of ``contributions_contribution`` ends with
    this. No-op on PostgreSQL, which alters in place."""
    if schema_editor.connection.vendor == "sqlite":
        for sql in [*SQLITE_UNINSTALL, *SQLITE_INSTALL]:
            schema_editor.execute(sql)


def uninstall(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for sql in PG_UNINSTALL if vendor == "postgresql" else SQLITE_UNINSTALL:
        schema_editor.execute(sql)


def recount() -> dict[tuple[int, dt.date, str], tuple[int, ...]]:
    """The tallies as counted from the contributions (slow: every row); groups with none left
    are absent."""
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT_SQL.format(day=_day_sql(connection.vendor)))
        return {(r[0], _date(r[1]), r[2]): tuple(int(v) for v in r[3:]) for r in cursor}


def recount_contributors() -> dict[tuple[int, int, str], int]:
    """The contributor tallies as counted from the contributions (slow: every row)."""
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT_CONTRIBUTORS_SQL)
        return {(r[0], r[1], r[2]): int(r[3]) for r in cursor}


# --- Fold and read ---------------------------------------------------------------------------

# A group whose dataset (or contributor) has been deleted since is dropped: only a delta that
# takes the last of its rows away can outlive them.
_UPSERT = f"""
INSERT INTO contributions_tally (dataset_id, day, status, {_COUNTS})
SELECT {", ".join(["%s"] * (3 + len(TALLY_COUNTS)))}
WHERE EXISTS (SELECT 1 FROM datadao_dataset WHERE id = %s)
ON CONFLICT (dataset_id, day, status) DO UPDATE SET
  {", ".join(f"{c} = contributions_tally.{c} + excluded.{c}" for c in TALLY_COUNTS)}
"""
_UPSERT_CONTRIBUTOR = """
INSERT INTO contributions_contributortally (contributor_id, dataset_id, status, n)
SELECT %s, %s, %s, %s
WHERE EXISTS (SELECT 1 FROM datadao_dataset WHERE id = %s)
  AND EXISTS (SELECT 1 FROM datadao_user WHERE id = %s)
ON CONFLICT (contributor_id, dataset_id, status) DO UPDATE SET
  n = contributions_contributortally.n + excluded.n
"""


def fold(*, limit: int = FOLD_BATCH) -> int:
    """Move up to ``limit`` committed deltas into ``Tally``, in one transaction; returns how
    many. The deltas leave by ``DELETE … RETURNING``, so each is added exactly once even with
    two folds at a time (the second finds the first's rows gone and skips them)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM contributions_tallydelta WHERE id IN ("
            f"SELECT id FROM contributions_tallydelta ORDER BY id LIMIT %s) "
            f"RETURNING dataset_id, contributor_id, day, status, {_COUNTS}",
            [limit],
        )
        moved = cursor.fetchall()
        sums: dict[tuple[Any, Any, str], list[int]] = {}
        per_contributor: dict[tuple[int, int, str], int] = {}
        for dataset_id, contributor_id, day, status, *counts in moved:
            group = sums.setdefault((dataset_id, day, status), [0] * len(TALLY_COUNTS))
            for i, value in enumerate(counts):
                group[i] += value
            key = (contributor_id, dataset_id, status)
            per_contributor[key] = per_contributor.get(key, 0) + counts[0]
        # In key order: two folds at once lock the same rows in the same order.
        if sums:
            cursor.executemany(
                _UPSERT, [[*key, *counts, key[0]] for key, counts in sorted(sums.items())]
            )
        changed = sorted((key, n) for key, n in per_contributor.items() if n)
        if changed:
            cursor.executemany(
                _UPSERT_CONTRIBUTOR, [[*key, n, key[1], key[0]] for key, n in changed]
            )
    return len(moved)


@dataclass(frozen=True)
class TallyRow:
    """Counts of one group; ``key`` holds the grouping columns asked for, in that order."""

    key: tuple[Any, ...]
    n: int
    near: int
    pending: int
    scores: tuple[int, ...]  # per bin of SCORE_BIN_WIDTH


_GROUPS = ("dataset_id", "day", "status")


def tally(
    dataset_ids: Iterable[int],
    *,
    by: Sequence[str],
    since: dt.date | None = None,
    statuses: Sequence[str] = (),
) -> list[TallyRow]:
    """Counts of the datasets' contributions grouped by ``by`` (any of dataset_id, day,
    status), optionally only those created on or after ``since`` or with these statuses.
    Exact: folded tallies and pending deltas are added in one statement. Groups that net to
    nothing are left out."""
    if set(by) - set(_GROUPS):
        raise ValueError(f"tally groups by {_GROUPS}, not {by}")
    ids = list(dataset_ids)
    if not ids:
        return []
    where = [f"dataset_id IN ({', '.join(['%s'] * len(ids))})"]
    params: list[Any] = list(ids)
    if since is not None:
        where.append("day >= %s")
        params.append(since)
    if statuses:
        where.append(f"status IN ({', '.join(['%s'] * len(statuses))})")
        params.extend(statuses)
    condition = " AND ".join(where)
    group = f"GROUP BY {', '.join(by)}" if by else ""
    columns = f"dataset_id, day, status, {_COUNTS}"
    sql = f"""
    SELECT {", ".join([*by, *(f"sum({c})" for c in TALLY_COUNTS)])} FROM (
      SELECT {columns} FROM contributions_tally WHERE {condition}
      UNION ALL
      SELECT {columns} FROM contributions_tallydelta WHERE {condition}
    ) AS t {group}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params + params)
        rows = cursor.fetchall()
    width = len(by)
    result = []
    for row in rows:
        key = tuple(_date(v) if name == "day" else v for name, v in zip(by, row, strict=False))
        counts = [int(v or 0) for v in row[width:]]
        if not any(counts):
            continue
        result.append(TallyRow(key, counts[0], counts[1], counts[2], tuple(counts[3:])))
    return result


def contributor_counts(contributor_id: int) -> dict[tuple[int, str], int]:
    """A contributor's contributions per (dataset id, status), exact (folded tallies and
    pending deltas in one statement); groups that net to nothing are left out."""
    sql = """
    SELECT dataset_id, status, sum(n) FROM (
      SELECT dataset_id, status, n FROM contributions_contributortally WHERE contributor_id = %s
      UNION ALL
      SELECT dataset_id, status, n FROM contributions_tallydelta WHERE contributor_id = %s
    ) AS t GROUP BY dataset_id, status
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [contributor_id, contributor_id])
        return {(row[0], row[1]): int(row[2]) for row in cursor.fetchall() if row[2]}


def _date(value: Any) -> dt.date:
    # SQLite hands dates back as text.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
