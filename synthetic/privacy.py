"""Privacy of synthetic rows: distance to the closest record (DCR) and exact copies. Pure.

Rows are compared on normalised features (numeric columns scaled by the training range,
discrete columns one-hot at half weight so a mismatch costs 1, missing flagged), with the mean
absolute difference per column (a Gower distance). A generator that memorises sits closer to
its training rows than to real rows it never saw; one that generalises is as close to either.
The training rows are subsampled to the hold-out's size first, so the fair share of synthetic
rows closer to training is one half whatever the split (SDMetrics' DCROverfittingProtection
does the same). One subsample is a noisy draw: on a small table (wine's 63 hold-out rows) which
training rows it happens to keep moves the share by ±0.05 for the same synthetic rows. The share
is the mean over ``SUBSAMPLES`` independent subsamples: each is an estimate with the same
expectation, so the mean has that expectation too, with the subsample's part of the variance
divided by their number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from .table import Table

# Synthetic rows compared per call (bounds the distance matrix held in memory).
CHUNK = 2048
# Distances held at once when comparing with every training row (``privacy``): 32 MiB.
CELLS = 4_000_000
# Training subsamples (each of the hold-out's size) the share is averaged over.
SUBSAMPLES = 20


def normalised(tables: list[Table], reference: Table) -> list[np.ndarray]:
    """Features of each table, scaled by ``reference`` (the training rows)."""
    blocks: list[list[np.ndarray]] = [[] for _ in tables]
    for spec in reference.specs:
        ref = reference[spec.name]
        if spec.numeric:
            present = ref[~np.isnan(ref)]
            low = float(present.min()) if len(present) else 0.0
            span = float(present.max()) - low if len(present) else 0.0
            for block, table in zip(blocks, tables, strict=True):
                column = table[spec.name]
                scaled = (column - low) / span if span > 0 else np.zeros(len(column))
                block.append(np.nan_to_num(scaled, nan=0.0)[:, None])
                block.append(np.isnan(column).astype(float)[:, None])
        else:
            values = sorted({repr(v) for t in tables for v in t[spec.name].tolist()})
            for block, table in zip(blocks, tables, strict=True):
                keys = np.array([repr(v) for v in table[spec.name].tolist()])
                block.append(0.5 * (keys[:, None] == np.array(values)[None, :]))
    n_columns = max(len(reference.specs), 1)
    return [np.hstack(b) / n_columns for b in blocks]


def closest(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Distance from each query row to its closest row in ``rows``."""
    if len(rows) == 0:
        return np.full(len(queries), np.inf)
    return (
        np.concatenate(
            [
                cdist(queries[i : i + CHUNK], rows, metric="cityblock").min(axis=1)
                for i in range(0, len(queries), CHUNK)
            ]
        )
        if len(queries)
        else np.zeros(0)
    )


def privacy(
    train: Table,
    holdout: Table,
    synthetic: Table,
    *,
    seed: int = 0,
    copies: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """DCR to training and to hold-out rows, the share closer to training, exact copies.

    ``copies``: (copies of training rows, rows drawn) as the sampler counted them before it
    dropped any; without it, the copies among ``synthetic`` itself. The hold-out's own rate
    of rows equal to a training row is the natural rate (a discrete table repeats rows)."""
    counted = copies is not None
    copy_count, drawn = (
        copies if copies is not None else (exact_copies(train, synthetic), synthetic.n_rows)
    )
    rng = np.random.default_rng(seed)
    size = min(holdout.n_rows, train.n_rows)
    # The first subsample is the one a single-subsample estimate with this seed would draw.
    subsamples = [
        np.sort(rng.choice(train.n_rows, size=size, replace=False)) for _ in range(SUBSAMPLES)
    ]
    x_train, x_holdout, x_synthetic = normalised([train, holdout, synthetic], train)
    to_holdout = closest(x_synthetic, x_holdout)
    to_train = _closest_in_subsamples(x_synthetic, x_train, subsamples)  # (subsamples, rows)
    # A tie is evidence neither way: it counts half.
    shares = (
        np.mean((to_train < to_holdout) + 0.5 * (to_train == to_holdout), axis=1)
        if len(to_holdout)
        else np.zeros(len(subsamples))
    )
    closer = float(shares.mean())
    return {
        "distance": "Gower (mean absolute difference, range-normalised; mismatch = 1)",
        "dcr_train_median": float(np.median(to_train)) if to_train.size else None,
        "dcr_holdout_median": float(np.median(to_holdout)) if len(to_holdout) else None,
        "share_closer_to_training": closer,
        "share_subsamples": {
            "count": len(subsamples),
            "rows_each": size,
            "min": float(shares.min()),
            "max": float(shares.max()),
        },
        "exact_copies": exact_copies(train, synthetic),
        "copy_rate": copy_count / drawn if drawn else 0.0,
        "copies_counted": {"copies": copy_count, "rows": drawn, "before_filtering": counted},
        "holdout_copy_rate": exact_copies(train, holdout) / holdout.n_rows
        if holdout.n_rows
        else 0.0,
    }


def _closest_in_subsamples(
    queries: np.ndarray, rows: np.ndarray, subsamples: list[np.ndarray]
) -> np.ndarray:
    """Per subsample of ``rows`` (index arrays), each query's distance to its closest row in
    it: the distances to every row are computed once, then read per subsample."""
    out = np.zeros((len(subsamples), len(queries)))
    if len(queries) == 0:
        return out
    if len(rows) == 0 or not subsamples[0].size:
        return np.full((len(subsamples), len(queries)), np.inf)
    step = max(1, CELLS // len(rows))
    for i in range(0, len(queries), step):
        distances = cdist(queries[i : i + step], rows, metric="cityblock")
        for k, picked in enumerate(subsamples):
            out[k, i : i + step] = distances[:, picked].min(axis=1)
    return out


def exact_copies(train: Table, synthetic: Table) -> int:
    """Synthetic rows equal, cell for cell, to some training row."""
    seen = set(train.row_keys())
    return sum(key in seen for key in synthetic.row_keys())
