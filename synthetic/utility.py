"""Machine-learning utility: train on synthetic, test on real (TSTR) against train on real
(TRTR). Pure. A random forest with a fixed seed; accuracy for a discrete target, R² for a
numeric one. The ratio TSTR/TRTR says how much of the real data's usefulness survives."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import accuracy_score, r2_score

from .table import Table, discrete_values, is_discrete

N_TREES = 100


def features(tables: list[Table], target: str) -> list[np.ndarray]:
    """One numeric matrix per table with a shared encoding: numeric columns as they are
    (missing → the first table's median plus a missing flag), discrete ones one-hot over the
    values any of the tables has."""
    blocks: list[list[np.ndarray]] = [[] for _ in tables]
    for spec in tables[0].specs:
        if spec.name == target:
            continue
        columns = [t[spec.name] for t in tables]
        if spec.numeric:
            present = columns[0][~np.isnan(columns[0])]
            fill = float(np.median(present)) if len(present) else 0.0
            flag = any(np.isnan(c).any() for c in columns)
            for block, column in zip(blocks, columns, strict=True):
                block.append(np.nan_to_num(column, nan=fill)[:, None])
                if flag:
                    block.append(np.isnan(column).astype(float)[:, None])
        else:
            values = sorted({repr(v) for c in columns for v in c.tolist()})
            for block, column in zip(blocks, columns, strict=True):
                keys = np.array([repr(v) for v in column.tolist()])
                block.append((keys[:, None] == np.array(values)[None, :]).astype(float))
    return [
        np.hstack(b) if b else np.zeros((t.n_rows, 0)) for b, t in zip(blocks, tables, strict=True)
    ]


def labels(table: Table, target: str, *, numeric: bool) -> np.ndarray:
    column = table[target]
    if numeric:
        return column
    return np.array([repr(v) for v in discrete_values(table.spec(target), column).tolist()])


def utility(
    train: Table, holdout: Table, synthetic: Table, *, target: str, seed: int = 0
) -> dict[str, Any]:
    """TSTR and TRTR on ``holdout`` with the same model; rows missing the target are skipped."""
    tables = [_with_target(t, target) for t in (train, holdout, synthetic)]
    x_train, x_holdout, x_synthetic = features(tables, target)
    # Ints with few values (class codes) are classes, not quantities to regress.
    numeric = not is_discrete(train.spec(target), train[target])
    y_train, y_holdout, y_synthetic = (labels(t, target, numeric=numeric) for t in tables)
    metric = "r2" if numeric else "accuracy"

    def score(x: np.ndarray, y: np.ndarray) -> float:
        if len(y) == 0:
            return 0.0
        model_class = RandomForestRegressor if numeric else RandomForestClassifier
        model = model_class(n_estimators=N_TREES, random_state=seed, n_jobs=1)
        model.fit(x, y)
        predicted = model.predict(x_holdout)
        return float(
            r2_score(y_holdout, predicted) if numeric else accuracy_score(y_holdout, predicted)
        )

    trtr = score(x_train, y_train)
    tstr = score(x_synthetic, y_synthetic)
    return {
        "metric": metric,
        "model": f"RandomForest(n_estimators={N_TREES}, random_state={seed})",
        "tstr": tstr,
        "trtr": trtr,
        "ratio": tstr / trtr if trtr > 0 else None,
    }


def _with_target(table: Table, target: str) -> Table:
    return table.take(np.flatnonzero(~table.missing(target)))
