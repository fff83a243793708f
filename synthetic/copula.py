"""A small Gaussian copula: the baseline every report compares the GAN with. Pure numpy/scipy.

Each column maps to a standard normal score (numeric columns through their empirical quantiles,
discrete ones through the interval their category occupies in [0, 1]); the scores' correlation
matrix is the whole dependence model. Sampling draws correlated normals and maps them back. A
numeric column with missing values or point masses (``quantile.point_masses``) gets a second,
discrete score for its mode (value, missing, each mass), and a numeric column that depends
strongly on a discrete one gets a map per level of it (``gan.driven``), as the GAN's encoding
does.

A plain copula loses structure that is not linear in the normal scores, such as the class
structure a classifier needs (TSTR on wine drops to about half of TRTR). ``conditional=True``
fits one copula per target class and draws classes at their real frequencies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from .gan.driven import ColumnMap, driver_keys, fit_driven
from .gan.quantile import QuantileNormal, mode_codes, mode_values, point_masses
from .gan.transform import categories_of, category_codes
from .table import ColumnSpec, Table, discrete_values, is_discrete, specs_from_state, specs_state

FORMAT = "datadao-synthetic-copula/1"

# A class with fewer training rows than this is drawn from the pooled copula instead.
MIN_GROUP_ROWS = 8
# Eigenvalue floor: keeps the correlation matrix positive definite for the Cholesky factor.
MIN_EIGENVALUE = 1e-6


class GaussianCopula:
    """Fit with ``fit(table, target=...)``, then ``sample(n, rng)``; state is plain JSON."""

    def __init__(self, *, conditional: bool = True) -> None:
        self.conditional = conditional
        self.table_specs: list[ColumnSpec] = []
        self.groups: list[dict[str, Any]] = []
        self.target: str | None = None

    def fit(self, table: Table, *, target: str | None = None) -> GaussianCopula:
        self.table_specs = table.specs
        self.target = target
        pooled = _fit_group(table, skip=None)
        self.groups = []
        spec = table.spec(target) if target is not None else None
        if self.conditional and spec is not None and is_discrete(spec, table[spec.name]):
            column = discrete_values(spec, table[spec.name])
            for value in categories_of(column):
                rows = np.flatnonzero(np.array([v == value for v in column.tolist()]))
                group = (
                    _fit_group(table.take(rows), skip=target)
                    if len(rows) >= MIN_GROUP_ROWS
                    else dict(pooled)
                )
                group.update(target_value=value, weight=len(rows) / table.n_rows)
                self.groups.append(group)
        else:
            pooled.update(weight=1.0)
            self.groups.append(pooled)
        return self

    def state(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "conditional": self.conditional,
            "target": self.target,
            "specs": specs_state(self.table_specs),
            "groups": self.groups,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GaussianCopula:
        model = cls(conditional=state["conditional"])
        model.target = state["target"]
        model.table_specs = specs_from_state(state["specs"])
        model.groups = state["groups"]
        return model

    def sample(self, n_rows: int, rng: np.random.Generator) -> Table:
        weights = np.array([g["weight"] for g in self.groups])
        counts = rng.multinomial(n_rows, weights / weights.sum())
        parts = []
        for group, count in zip(self.groups, counts, strict=True):
            part = _sample_group(group, int(count), rng, self.table_specs)
            if "target_value" in group and self.target is not None:
                value = group["target_value"]
                column = np.empty(int(count), dtype=object)
                column[:] = [value] * int(count)
                if next(s for s in self.table_specs if s.name == self.target).numeric:
                    column = np.full(int(count), np.nan if value is None else float(value))
                part[self.target] = column
            parts.append(part)
        data = {s.name: np.concatenate([p[s.name] for p in parts]) for s in self.table_specs}
        # Groups come out in blocks; shuffle so a prefix of the output is a fair sample.
        order = rng.permutation(n_rows)
        return Table(self.table_specs, {k: v[order] for k, v in data.items()})


def _fit_group(table: Table, *, skip: str | None) -> dict[str, Any]:
    """Marginals and the correlation of normal scores for one group of rows."""
    rng = np.random.default_rng(0)  # jitter inside category intervals: fixed, not data-seeded
    marginals: dict[str, dict[str, Any]] = {}
    scores: list[np.ndarray] = []
    for spec in table.specs:
        if spec.name == skip:
            continue
        column = table[spec.name]
        if is_discrete(spec, column):
            values = discrete_values(spec, column)
            categories = categories_of(values)
            codes = category_codes(values, categories)
            cum = np.cumsum(np.bincount(codes, minlength=len(categories))) / len(codes)
            marginals[spec.name] = {"categories": categories, "cum": cum.tolist()}
            low = np.concatenate([[0.0], cum[:-1]])[codes]
            scores.append(
                ndtri(np.clip(low + rng.random(len(codes)) * (cum[codes] - low), 1e-6, 1 - 1e-6))
            )
            continue
        masses = point_masses(column)
        has_missing = bool(np.isnan(column).any())
        value = ~np.isnan(column) & ~np.isin(column, masses)
        quantile = QuantileNormal.fit(column[value], spec)
        skipped = {skip} if skip is not None else set()
        driven = fit_driven(table, spec, value, quantile, skip=skipped)
        marginals[spec.name] = {"quantile": quantile.state(), "driven": driven}
        column_map = ColumnMap.from_info(marginals[spec.name])
        z = column_map.forward(np.where(value, column, 0.0), driver_keys(table, column_map.driver))
        # Rows without a value (missing, or a mass) get a random score: the rest of the column
        # keeps unit variance.
        scores.append(np.where(value, z, rng.standard_normal(len(column))))
        if has_missing or masses:
            codes = mode_codes(column, masses, has_missing)
            width = 1 + int(has_missing) + len(masses)
            cum = np.cumsum(np.bincount(codes, minlength=width)) / len(codes)
            marginals[spec.name]["modes"] = {
                "masses": masses,
                "has_missing": has_missing,
                "cum": cum.tolist(),
            }
            low = np.concatenate([[0.0], cum[:-1]])[codes]
            u = low + rng.random(len(codes)) * (cum[codes] - low)
            scores.append(ndtri(np.clip(u, 1e-6, 1 - 1e-6)))
    matrix = np.column_stack(scores) if scores else np.zeros((table.n_rows, 0))
    return {"marginals": marginals, "corr": _correlation(matrix).tolist()}


def _correlation(scores: np.ndarray) -> np.ndarray:
    d = scores.shape[1]
    if d == 0 or len(scores) < 2:
        return np.eye(d)
    std = scores.std(axis=0)
    centred = (scores - scores.mean(axis=0)) / np.where(std > 0, std, 1.0)
    corr = centred.T @ centred / len(scores)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.maximum(values, MIN_EIGENVALUE)) @ vectors.T
    scale = np.sqrt(np.diag(corr))
    return corr / np.outer(scale, scale)


def _sample_group(
    group: dict[str, Any], n_rows: int, rng: np.random.Generator, specs: list[Any]
) -> dict[str, np.ndarray]:
    corr = np.array(group["corr"])
    cholesky = np.linalg.cholesky(corr) if len(corr) else corr
    z = rng.standard_normal((n_rows, len(corr))) @ cholesky.T
    out: dict[str, np.ndarray] = {}
    at: dict[str, int] = {}  # each column's first score
    k = 0
    for spec in specs:
        info = group["marginals"].get(spec.name)
        if info is None:
            continue
        at[spec.name] = k
        k += 1 + int(bool(info.get("modes") or info.get("missing")))
        if "categories" in info:
            codes = np.searchsorted(np.array(info["cum"]), ndtr(z[:, at[spec.name]]), side="right")
            codes = np.minimum(codes, len(info["categories"]) - 1)
            values = np.empty(n_rows, dtype=object)
            values[:] = [info["categories"][c] for c in codes]
            if spec.numeric:
                values = np.array([np.nan if v is None else v for v in values], dtype=float)
            out[spec.name] = values
    # Numeric columns after the discrete ones: a driven column reads its driver's level.
    by_name = {spec.name: spec for spec in specs}
    for name, k in at.items():
        info = group["marginals"][name]
        if "categories" in info:
            continue
        column_map = ColumnMap.from_info(info)
        driver = column_map.driver
        keys = None if driver is None else discrete_values(by_name[driver], out[driver])
        column = column_map.inverse(z[:, k], keys)
        modes = info.get("modes")
        if modes is not None:
            codes = np.searchsorted(np.array(modes["cum"]), ndtr(z[:, k + 1]), side="right")
            codes = np.minimum(codes, len(modes["cum"]) - 1)
            column = mode_values(codes, column, modes["masses"], modes["has_missing"])
        elif info.get("missing"):  # the missing-rate form of a copula without point masses
            column = np.where(ndtr(z[:, k + 1]) < info["missing_rate"], np.nan, column)
        out[name] = column
    return out
