"""A typed, column-oriented table: what every synthesizer and metric here works on. Pure.

Columns follow ``datadao.schema`` tabular column types. Values are held per column as numpy
arrays so the models and metrics never loop over cells in Python:

* ``int``, ``float``, ``datetime`` → float64 (datetime as seconds since the Unix epoch, UTC),
  ``NaN`` for a missing value;
* ``bool``, ``category``, ``string`` → object arrays of canonical values, ``None`` when missing.

Records (one dict per row) use the canonical JSON-native values of
``contributions.validation.cells``, so synthetic rows look exactly like validated uploads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from datadao.schema import COLUMN_TYPES

NUMERIC_TYPES = ("int", "float", "datetime")
# Ints with at most this many distinct values are modelled, stratified and predicted as classes.
MAX_DISCRETE_INTS = 20
DISCRETE_TYPES = ("bool", "category", "string")
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its name, its ``datadao.schema`` type and whether it may be missing."""

    name: str
    type: str
    required: bool = False
    # An int column whose schema lists its ``allowed`` values: its values are classes.
    categorical: bool = False

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}")

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


def is_discrete(spec: ColumnSpec, column: np.ndarray) -> bool:
    """True for bool/category/string columns, ints with ``allowed`` values, and ints with few
    distinct values."""
    if not spec.numeric or spec.categorical:
        return True
    if spec.type != "int":
        return False
    present = column[~np.isnan(column)]
    return len(np.unique(present)) <= MAX_DISCRETE_INTS


def discrete_values(spec: ColumnSpec, column: np.ndarray) -> np.ndarray:
    """A discrete column as an object array of canonical values (ints for int columns)."""
    if not spec.numeric:
        return column
    out = np.empty(len(column), dtype=object)
    out[:] = [None if np.isnan(v) else int(v) for v in column.tolist()]
    return out


def specs_from_schema(schema: dict[str, Any]) -> list[ColumnSpec]:
    """Column specs of a tabular ``schema`` (already valid per ``datadao.schema``)."""
    return [
        ColumnSpec(
            c["name"],
            c["type"],
            bool(c.get("required", False)),
            categorical=c["type"] == "int" and "allowed" in c,
        )
        for c in schema["columns"]
    ]


def specs_state(specs: list[ColumnSpec]) -> list[list[Any]]:
    """Specs as JSON lists (for checkpoints)."""
    return [[s.name, s.type, s.required, s.categorical] for s in specs]


def specs_from_state(state: list[list[Any]]) -> list[ColumnSpec]:
    return [ColumnSpec(*entry) for entry in state]


class Table:
    """Columns of equal length, each typed by a ``ColumnSpec``."""

    def __init__(self, specs: Sequence[ColumnSpec], data: dict[str, np.ndarray]) -> None:
        self.specs = list(specs)
        self.data = data
        lengths = {len(data[s.name]) for s in self.specs}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        self.n_rows = lengths.pop() if lengths else 0

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def spec(self, name: str) -> ColumnSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def take(self, index: np.ndarray) -> Table:
        return Table(self.specs, {name: col[index] for name, col in self.data.items()})

    def concat(self, other: Table) -> Table:
        return Table(
            self.specs, {n: np.concatenate([self.data[n], other.data[n]]) for n in self.names}
        )

    def missing(self, name: str) -> np.ndarray:
        """Boolean mask of missing cells in column ``name``."""
        column = self.data[name]
        if self.spec(name).numeric:
            return np.isnan(column)
        return np.array([v is None for v in column], dtype=bool)

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]], specs: Sequence[ColumnSpec]) -> Table:
        """Build from canonical records (missing key or ``None`` = missing value)."""
        rows = list(records)
        data: dict[str, np.ndarray] = {}
        for spec in specs:
            values = [row.get(spec.name) for row in rows]
            if spec.type == "datetime":
                data[spec.name] = np.array(
                    [np.nan if v is None else datetime_to_seconds(v) for v in values], dtype=float
                )
            elif spec.numeric:
                data[spec.name] = np.array(
                    [np.nan if v is None else float(v) for v in values], dtype=float
                )
            else:
                column = np.empty(len(values), dtype=object)
                column[:] = values
                data[spec.name] = column
        return cls(specs, data)

    def records(self) -> list[dict[str, Any]]:
        """Canonical JSON-native rows (``None`` for missing), in column order."""
        columns = [_canonical_column(spec, self.data[spec.name]) for spec in self.specs]
        names = self.names
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def row_keys(self) -> list[tuple[Any, ...]]:
        """One hashable key per row, equal exactly when the canonical rows are equal."""
        columns = [_canonical_column(spec, self.data[spec.name]) for spec in self.specs]
        return list(zip(*columns, strict=True))


def _canonical_column(spec: ColumnSpec, column: np.ndarray) -> list[Any]:
    if spec.type == "int":
        return [None if math.isnan(v) else round(v) for v in column.tolist()]
    if spec.type == "float":
        # + 0.0 turns -0.0 into 0.0, as the upload validator does.
        return [None if math.isnan(v) else float(v) + 0.0 for v in column.tolist()]
    if spec.type == "datetime":
        return [None if math.isnan(v) else seconds_to_datetime(v) for v in column.tolist()]
    return list(column)


def datetime_to_seconds(value: str | datetime) -> float:
    """ISO 8601 text (naive means UTC) or a datetime → seconds since the epoch."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return (parsed - _EPOCH).total_seconds()


def seconds_to_datetime(seconds: float) -> str:
    """Seconds since the epoch → canonical ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` text."""
    micros = round(seconds * 1_000_000)
    whole, frac = divmod(micros, 1_000_000)
    text = datetime.fromtimestamp(whole, UTC).replace(tzinfo=None, microsecond=frac).isoformat()
    return text + "Z"


def train_holdout_split(
    table: Table, *, holdout_fraction: float, seed: int, target: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, hold-out), stratified on a discrete ``target`` so rare classes
    appear on both sides (each class with at least two rows keeps at least one in each)."""
    rng = np.random.default_rng(seed)
    if target is not None and is_discrete(table.spec(target), table[target]):
        groups = _group_indices(discrete_values(table.spec(target), table[target]))
    else:
        groups = [np.arange(table.n_rows)]
    train: list[np.ndarray] = []
    holdout: list[np.ndarray] = []
    for group in groups:
        shuffled = rng.permutation(group)
        n_hold = round(len(group) * holdout_fraction)
        if len(group) >= 2:
            n_hold = min(max(n_hold, 1), len(group) - 1)
        holdout.append(shuffled[:n_hold])
        train.append(shuffled[n_hold:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(holdout))


def _group_indices(column: np.ndarray) -> list[np.ndarray]:
    keys = [repr(v) for v in column]
    order: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    return [np.array(order[k]) for k in sorted(order)]
