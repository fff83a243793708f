"""Run a checked aggregate query (``guard``) over an Arrow table in a locked-down DuckDB.

The table is copied into an in-memory database; then external access (files, URLs,
extensions) is switched off and the configuration locked, so the query sees ``data`` and
nothing else. One thread, a memory cap and a time limit bound its cost. Every returned group
must hold at least ``k`` rows, or the whole query is refused: a small group could single out
a person.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from contributions.aggregate.guard import GROUP_ROWS, TABLE, Checked, QueryRefused

MAX_GROUPS = 10_000
MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[list[Any]]

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def _cell(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def run(checked: Checked, table: pa.Table, *, k: int, timeout_seconds: float = 30.0) -> Result:
    """The query's groups; ``QueryRefused`` when one holds fewer than ``k`` rows, there are
    too many, or DuckDB refuses the query (an unknown column, a type error, the time limit)."""
    con = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": MEMORY_LIMIT})
    timer = threading.Timer(timeout_seconds, con.interrupt)
    try:
        con.register("release_rows", table)
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM release_rows")  # noqa: S608
        con.unregister("release_rows")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        timer.start()
        try:
            cursor = con.execute(checked.rewritten)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchmany(MAX_GROUPS + 1)
        except duckdb.InterruptException:
            raise QueryRefused(f"The query ran past {timeout_seconds:.0f} s.") from None
        except duckdb.Error as exc:
            raise QueryRefused(f"The query failed: {str(exc).splitlines()[0]}") from None
    finally:
        timer.cancel()
        con.close()
    if len(rows) > MAX_GROUPS:
        raise QueryRefused(f"The query returns more than {MAX_GROUPS} groups.")
    position = names.index(GROUP_ROWS)
    smallest = min((row[position] for row in rows), default=None)
    if smallest is not None and smallest < k:
        raise QueryRefused(
            f"A group of the result holds {smallest} rows; every group must hold at least {k}, "
            "so that no result describes a few people."
        )
    keep = [i for i, name in enumerate(names) if i != position]
    return Result(
        columns=[names[i] for i in keep],
        rows=[[_cell(row[i]) for i in keep] for row in rows],
    )
