"""scikit-learn's bundled tables as CSV rows plus a ``datadao.schema`` schema. Pure.

Used by the tests, the benchmark and demos: no download, same bytes everywhere. Column names
are made schema-safe (wine's ``od280/od315_of_diluted_wines`` has a slash).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

# Wine columns turned into three-level categories (by tercile) to exercise discrete columns.
WINE_BINNED = ("alcohol", "magnesium", "hue")
_LEVELS = ("low", "mid", "high")


def _name(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9_ .\-]", "_", raw)


def _float_text(value: float) -> str:
    return repr(float(value))


def _table(
    data: np.ndarray, names: list[str], target: list[str], target_name: str = "target"
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    names = [_name(n) for n in names]
    rows = [
        {**{n: _float_text(v) for n, v in zip(names, row, strict=True)}, target_name: label}
        for row, label in zip(data, target, strict=True)
    ]
    columns: list[dict[str, Any]] = [{"name": n, "type": "float", "required": True} for n in names]
    columns.append(
        {"name": target_name, "type": "category", "required": True, "allowed": sorted(set(target))}
    )
    return rows, {"columns": columns, "target": target_name}


def breast_cancer() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """569 rows, 30 float columns, a two-class target (malignant/benign)."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    labels = [str(bunch.target_names[t]) for t in bunch.target]
    return _table(bunch.data, list(bunch.feature_names), labels)


def wine_binned() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """178 rows, 13 columns of which ``WINE_BINNED`` are categories, a three-class target."""
    from sklearn.datasets import load_wine

    bunch = load_wine()
    labels = [str(bunch.target_names[t]) for t in bunch.target]
    rows, schema = _table(bunch.data, list(bunch.feature_names), labels)
    for name in WINE_BINNED:
        values = np.array([float(r[name]) for r in rows])
        edges = np.quantile(values, [1 / 3, 2 / 3])
        for row, value in zip(rows, values, strict=True):
            row[name] = _LEVELS[int(np.searchsorted(edges, value, side="right"))]
        column = next(c for c in schema["columns"] if c["name"] == name)
        column.update(type="category", allowed=list(_LEVELS))
    return rows, schema


def iris() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """150 rows, 4 float columns, a three-class target."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    labels = [str(bunch.target_names[t]) for t in bunch.target]
    return _table(bunch.data, list(bunch.feature_names), labels, "species")


def diabetes() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """442 rows, 10 float columns, a numeric target (disease progression)."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    rows, schema = _table(bunch.data, list(bunch.feature_names), ["x"] * len(bunch.target))
    for row, value in zip(rows, bunch.target, strict=True):
        row["target"] = _float_text(value)
    schema["columns"][-1] = {"name": "target", "type": "float", "required": True}
    return rows, schema


# The generated mixed table: plans and how strongly orders depend on them.
PLANS = ("free", "pro", "enterprise")
PLAN_SHARES = (0.6, 0.3, 0.1)
PLAN_MEAN_ORDERS = (2.0, 7.0, 17.0)
CITIES = 400
ZERO_BALANCE_SHARE = 0.35
_DAY = 86_400


def mixed_customers(
    n_rows: int = 5000, seed: int = 0
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """A generated customer table with the features that break a naive synthesizer, the same
    rows for the same ``n_rows`` and ``seed``:

    * ``plan`` (free/pro/enterprise) and ``orders``, whose mean depends strongly on the plan;
    * ``signup`` and ``last_login`` (datetimes, ``signup <= last_login`` declared; 5 % never
      logged in: missing);
    * ``income``: lognormal, a heavy upper tail (the largest of 5 000 rows is about 1M), 8 %
      missing;
    * ``balance``: zero-inflated (35 % exact zeros), otherwise lognormal and tied to income;
    * ``age`` and ``credit_score``: two numbers correlated at about 0.6 (3 % of ages missing);
    * ``newsletter``: a bool spelled "yes"/"no";
    * ``city``: a category with 400 levels, a few common and many rare;
    * ``churn`` (the target): "active"/"churned", driven by the plan, orders and last login.
    """
    rng = np.random.default_rng([seed, 19])
    plan = rng.choice(len(PLANS), size=n_rows, p=PLAN_SHARES)
    orders = rng.poisson(np.array(PLAN_MEAN_ORDERS)[plan])
    start = 1_577_836_800  # 2020-01-01T00:00:00Z
    signup = start + rng.integers(0, 4 * 365 * _DAY, size=n_rows)
    away = rng.exponential(120 * _DAY / (1 + plan), size=n_rows).astype(np.int64)
    last_login = signup + away
    never = rng.random(n_rows) < 0.05
    income = np.round(np.exp(rng.normal(10.4, 0.9, size=n_rows) + 0.2 * plan), 2)
    no_income = rng.random(n_rows) < 0.08
    log_balance = 0.8 * np.log(income) - 2.0 + rng.normal(0, 0.6, size=n_rows)
    balance = np.round(np.exp(log_balance), 2)
    balance[rng.random(n_rows) < ZERO_BALANCE_SHARE] = 0.0
    shared = rng.standard_normal(n_rows)
    age = np.clip(np.round(45 + 12 * shared), 18, 90).astype(int)
    credit = 0.6 * shared + 0.8 * rng.standard_normal(n_rows)
    credit_score = np.clip(np.round(680 + 60 * credit), 300, 850).astype(int)
    no_age = rng.random(n_rows) < 0.03
    newsletter = rng.random(n_rows) < np.array([0.25, 0.5, 0.7])[plan]
    weights = 1.0 / np.arange(1, CITIES + 1)
    city = rng.choice(CITIES, size=n_rows, p=weights / weights.sum())
    days_away = (last_login - signup) / _DAY
    risk = 0.8 - 0.9 * plan - 0.08 * orders + 0.01 * days_away + rng.logistic(size=n_rows)
    churn = np.where(risk > 0, "churned", "active")
    rows = []
    for i in range(n_rows):
        rows.append(
            {
                "plan": PLANS[plan[i]],
                "signup": _iso(signup[i]),
                "last_login": "" if never[i] else _iso(last_login[i]),
                "orders": str(orders[i]),
                "income": "" if no_income[i] else repr(float(income[i])),
                "balance": repr(float(balance[i])),
                "age": "" if no_age[i] else str(age[i]),
                "credit_score": str(credit_score[i]),
                "newsletter": "yes" if newsletter[i] else "no",
                "city": f"city_{city[i] + 1:03d}",
                "churn": str(churn[i]),
            }
        )
    columns: list[dict[str, Any]] = [
        {"name": "plan", "type": "category", "required": True, "allowed": list(PLANS)},
        {"name": "signup", "type": "datetime", "required": True},
        {"name": "last_login", "type": "datetime"},
        {"name": "orders", "type": "int", "required": True, "min": 0},
        {"name": "income", "type": "float", "min": 0},
        {"name": "balance", "type": "float", "required": True, "min": 0},
        {"name": "age", "type": "int", "min": 18, "max": 120},
        {"name": "credit_score", "type": "int", "required": True, "min": 300, "max": 850},
        {"name": "newsletter", "type": "bool", "required": True},
        {
            "name": "city",
            "type": "category",
            "required": True,
            "allowed": [f"city_{i:03d}" for i in range(1, CITIES + 1)],
        },
        {"name": "churn", "type": "category", "required": True, "allowed": ["active", "churned"]},
    ]
    schema = {"columns": columns, "target": "churn", "constraints": ["signup<=last_login"]}
    return rows, schema


def _iso(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S")
