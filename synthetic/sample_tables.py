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
