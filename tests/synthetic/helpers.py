"""Tables for the synthetic tests: sklearn's bundled ones and a generated mixed-type one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from synthetic import sample_tables
from synthetic.infer import parse_rows
from synthetic.table import Table, train_holdout_split

SDTYPES = {
    "int": "numerical",
    "float": "numerical",
    "datetime": "datetime",
    "bool": "boolean",
    "category": "categorical",
    "string": "categorical",
}


def mixed_rows(n: int = 240, seed: int = 7) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Every column type, missing values, constraints; ``grade`` depends on ``score``."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for _ in range(n):
        score = float(np.clip(rng.normal(60, 15), 0, 100))
        age = int(rng.integers(18, 80))
        grade = "A" if score > 70 else ("B" if score > 50 else "C")
        rows.append(
            {
                "age": str(age),
                "score": f"{score:.2f}",
                "income": "" if rng.random() < 0.2 else f"{age * 900 + rng.normal(0, 4000):.1f}",
                "member": rng.choice(["true", "false"]),
                "grade": grade,
                "code": f"X-{rng.integers(0, 4)}",
                "joined": (start + timedelta(days=int(rng.integers(0, 365)))).strftime("%Y-%m-%d"),
            }
        )
    schema = {
        "columns": [
            {"name": "age", "type": "int", "required": True, "min": 18, "max": 79},
            {"name": "score", "type": "float", "required": True, "min": 0, "max": 100},
            {"name": "income", "type": "float"},
            {"name": "member", "type": "bool", "required": True},
            {"name": "grade", "type": "category", "required": True, "allowed": ["A", "B", "C"]},
            {"name": "code", "type": "string", "required": True, "regex": "X-[0-3]"},
            {"name": "joined", "type": "datetime", "required": True, "min": "2024-01-01T00:00:00"},
        ],
        "target": "grade",
    }
    return rows, schema


def load(name: str) -> tuple[Table, dict[str, Any]]:
    rows, schema = mixed_rows() if name == "mixed" else getattr(sample_tables, name)()
    return parse_rows(rows, schema), schema


def split(table: Table, target: str | None, seed: int = 0) -> tuple[Table, Table]:
    train, holdout = train_holdout_split(table, holdout_fraction=0.35, seed=seed, target=target)
    return table.take(train), table.take(holdout)


def to_frame(table: Table) -> pd.DataFrame:
    """The table as SDMetrics expects it (datetimes as datetime64, missing as NaN/None)."""
    data: dict[str, Any] = {}
    for spec in table.specs:
        column = table[spec.name]
        if spec.type == "datetime":
            data[spec.name] = pd.to_datetime(column, unit="s")
        elif spec.numeric:
            data[spec.name] = column
        else:
            data[spec.name] = pd.Series(list(column), dtype=object)
    return pd.DataFrame(data)


def metadata(table: Table) -> dict[str, Any]:
    return {"columns": {s.name: {"sdtype": SDTYPES[s.type]} for s in table.specs}}
