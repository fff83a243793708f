"""Which SQL a "query" grant may run: one SELECT over the table ``data`` whose every output is
an aggregate or a grouping expression. Anything that could return individual rows, read
another table or a file, or hide work in a subquery is refused, naming the construct.

The check is an allowlist over sqlglot's syntax tree (the DuckDB dialect): a node type not
listed is refused, so a construct added to SQL later is refused until someone decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

TABLE = "data"
GROUP_ROWS = "__group_rows"
MAX_SQL_CHARS = 4000

AGGREGATES: tuple[type[exp.Expression], ...] = (
    exp.Count,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
    exp.Median,
    exp.CountIf,
    exp.ApproxDistinct,
)
# What may appear around and inside them: columns, literals, arithmetic, comparisons, a few
# scalar functions. No subquery, table function, window, or anything not named here.
ALLOWED: tuple[type[exp.Expression], ...] = (
    *AGGREGATES,
    exp.Select,
    exp.From,
    exp.Table,
    exp.TableAlias,
    exp.Identifier,
    exp.Column,
    exp.Star,
    exp.Alias,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.Not,
    exp.And,
    exp.Or,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Distinct,
    exp.Where,
    exp.Group,
    exp.Having,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Coalesce,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.Extract,
    exp.Var,
    exp.Year,
    exp.Month,
    exp.Day,
)


class QueryRefused(ValueError):
    """The SQL is not an aggregate query this platform runs; the message says why."""


@dataclass(frozen=True)
class Checked:
    sql: str  # as given
    rewritten: str  # with the group-size column added


def check(sql: str) -> Checked:
    """Refuse (``QueryRefused``) anything but an aggregate SELECT over ``data``; return it with
    ``COUNT(*) AS __group_rows`` added, which the engine uses to enforce the group size."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRefused("The query is empty: send one SELECT over the table data.")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"The query is over {MAX_SQL_CHARS} characters.")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise QueryRefused(f"The query does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryRefused("Send exactly one statement.")
    select = statements[0]
    if not isinstance(select, exp.Select):
        raise QueryRefused(f"Only SELECT is allowed, not {select.key.upper()}.")
    for node in select.walk():
        if not isinstance(node, ALLOWED):
            raise QueryRefused(f"{_name(node)} is not allowed in a query.")
        if isinstance(node, exp.Select) and node is not select:
            raise QueryRefused("Subqueries are not allowed.")
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            raise QueryRefused("SELECT * would return rows; only COUNT(*) may use *.")
    _check_from(select)
    _check_outputs(select)
    rewritten = select.copy()
    rewritten.select(exp.alias_(exp.Count(this=exp.Star()), GROUP_ROWS), copy=False)
    return Checked(sql=sql, rewritten=rewritten.sql(dialect="duckdb"))


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return f"The function {str(node.name).upper()}"
    if isinstance(node, exp.Func):
        return f"The function {node.sql_name()}"
    return f"{type(node).__name__} ({node.sql(dialect='duckdb')[:40]})"


def _check_from(select: exp.Select) -> None:
    source = select.args.get("from_") or select.args.get("from")
    if source is None:
        raise QueryRefused(f"Say FROM {TABLE}.")
    for name in ("joins", "laterals", "with"):
        if select.args.get(name):
            raise QueryRefused(f"{name.rstrip('s').upper()} is not allowed: query {TABLE} alone.")
    table = source.this
    if not isinstance(table, exp.Table) or table.name.lower() != TABLE or table.db:
        raise QueryRefused(f"The only table is {TABLE}.")


def _inside_aggregate(node: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, AGGREGATES):
            return True
        parent = parent.parent
    return False


def _check_outputs(select: exp.Select) -> None:
    grouped = {
        g.sql(dialect="duckdb") for g in (select.args.get("group") or exp.Group()).expressions
    }
    has_aggregate = False
    for output in select.expressions:
        inner = output.this if isinstance(output, exp.Alias) else output
        if inner.sql(dialect="duckdb") in grouped:
            continue
        if not any(True for _ in inner.find_all(*AGGREGATES)):
            raise QueryRefused(
                f"{inner.sql(dialect='duckdb')[:60]} would return individual rows: every output "
                "must be an aggregate (COUNT, SUM, AVG, MIN, MAX, …) or a GROUP BY expression."
            )
        bare = [c for c in inner.find_all(exp.Column) if not _inside_aggregate(c)]
        if bare:
            raise QueryRefused(
                f"The column {bare[0].sql(dialect='duckdb')} is used outside an aggregate "
                "without being grouped by."
            )
        has_aggregate = True
    if not has_aggregate and not grouped:
        raise QueryRefused("The query has no aggregate: it would return individual rows.")
