"""Can a classifier tell synthetic rows from real ones it never trained on? Pure.

The check every job passes through when it has no target to measure utility by: a random
forest is cross-validated on real hold-out rows against as many synthetic rows, and its ROC
AUC reported (0.5: indistinguishable; 1: always told apart). Resampling each column on its own
keeps every marginal and loses every relationship between columns: the forest sees that, where
the column-shape scores alone would not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from .table import Table
from .utility import features

N_TREES = 100
FOLDS = 5
NO_TARGET = "\x00"


def discriminator(holdout: Table, synthetic: Table, *, seed: int = 0) -> dict[str, Any]:
    """Cross-validated ROC AUC of a forest telling hold-out rows from synthetic ones."""
    rng = np.random.default_rng(seed)
    size = min(holdout.n_rows, synthetic.n_rows)
    if size < FOLDS:
        return {"auc": None, "rows_each": size, "model": _model(seed)}
    real = holdout.take(np.sort(rng.choice(holdout.n_rows, size=size, replace=False)))
    fake = synthetic.take(np.sort(rng.choice(synthetic.n_rows, size=size, replace=False)))
    x_real, x_fake = features([real, fake], NO_TARGET)
    x = np.vstack([x_real, x_fake])
    y = np.concatenate([np.zeros(size), np.ones(size)])
    model = RandomForestClassifier(n_estimators=N_TREES, random_state=seed, n_jobs=1)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return {"auc": float(roc_auc_score(y, scores)), "rows_each": size, "model": _model(seed)}


def _model(seed: int) -> str:
    return f"RandomForest(n_estimators={N_TREES}, random_state={seed}), {FOLDS}-fold CV"
