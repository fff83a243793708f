"""Generator, critic and the conditional vector (CTGAN's design, sized for small tables).

* The generator maps noise plus a condition (one category of one discrete column) to a row:
  residual blocks, then linear outputs for normal scores and Gumbel-softmax for one-hot blocks.
* The critic scores ``pac`` rows at once (PacGAN): seeing several rows together lets it notice
  a generator that collapses onto a few modes, which small tables invite.
* ``Conditions`` implements training-by-sampling: a discrete column is picked, then one of its
  categories by log-frequency, and real rows with that category are drawn. Rare categories get
  trained on instead of drowned out; at sampling time categories come at their real rates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .transform import Span

GUMBEL_TAU = 0.2


class Residual(nn.Module):
    def __init__(self, width_in: int, width_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width_in, width_out)
        self.bn = nn.BatchNorm1d(width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, width_in: int, dims: tuple[int, ...], width_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = width_in
        for dim in dims:
            layers.append(Residual(width, dim))
            width += dim
        layers.append(nn.Linear(width, width_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Critic(nn.Module):
    """No batch norm: the gradient penalty (and DP-SGD) need per-row independence."""

    def __init__(self, width_in: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        width = width_in * pac
        for dim in dims:
            layers += [nn.Linear(width, dim), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = dim
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, x.shape[1] * self.pac))


def activate(raw: torch.Tensor, spans: list[Span], *, hard: bool = False) -> torch.Tensor:
    """Generator output → a row in encoded space (Gumbel-softmax on each one-hot block)."""
    parts = []
    start = 0  # runs of normal scores pass through as one slice: fewer autograd nodes
    for span in spans:
        if span.kind == "normal":
            continue
        if span.start > start:
            parts.append(raw[:, start : span.start])
        block = raw[:, span.start : span.end]
        parts.append(F.gumbel_softmax(block, tau=GUMBEL_TAU, hard=hard))
        start = span.end
    if start < raw.shape[1]:
        parts.append(raw[:, start:])
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def condition_loss(
    raw: torch.Tensor, spans: list[Span], column: np.ndarray, cond: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy pushing each row's conditioned block to the category asked for."""
    if not spans:
        return raw.new_zeros(())
    losses = []
    offset = 0
    for i, span in enumerate(spans):
        rows = np.flatnonzero(column == i)
        if len(rows):
            target = cond[rows, offset : offset + span.width].argmax(dim=1)
            losses.append(
                F.cross_entropy(raw[rows, span.start : span.end], target, reduction="sum")
            )
        offset += span.width
    return torch.stack(losses).sum() / len(raw)


class Conditions:
    """Training-by-sampling over discrete columns; ``target`` (if discrete) is favoured."""

    def __init__(
        self,
        spans: list[Span],
        counts: list[np.ndarray],
        target_index: int | None,
        target_rate: float = 0.5,
    ) -> None:
        self.spans = spans
        self.target_rate = target_rate
        self.width = sum(s.width for s in spans)
        self.target_index = target_index
        self.counts = [np.asarray(c, dtype=float) for c in counts]
        self.offsets = np.cumsum([0] + [s.width for s in spans])
        self.real_cdf = [np.cumsum(c) / c.sum() for c in self.counts]
        logs = [np.log1p(c) * (c > 0) for c in self.counts]
        self.log_cdf = [np.cumsum(v) / v.sum() for v in logs]
        self.order: list[np.ndarray] = []  # row indices sorted by category, per column

    @classmethod
    def fit(
        cls, spans: list[Span], encoded: np.ndarray, target_index: int | None, target_rate: float
    ) -> Conditions:
        codes = [encoded[:, s.start : s.end].argmax(axis=1) for s in spans]
        counts = [np.bincount(c, minlength=s.width) for c, s in zip(codes, spans, strict=True)]
        conditions = cls(spans, counts, target_index, target_rate)
        conditions.order = [np.argsort(c, kind="stable") for c in codes]
        return conditions

    def _columns(self, n: int, rng: np.random.Generator, train: bool) -> np.ndarray:
        if self.target_index is not None and not train:
            return np.full(n, self.target_index)
        picked = rng.integers(0, len(self.spans), n)
        if self.target_index is not None and len(self.spans) > 1:
            # Favour the target: class structure is what a model trained on the rows needs.
            return np.where(rng.random(n) < self.target_rate, self.target_index, picked)
        return picked

    def _draw(
        self, columns: np.ndarray, cdfs: list[np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        u = rng.random(len(columns))
        categories = np.zeros(len(columns), dtype=np.int64)
        for c in np.unique(columns):
            rows = columns == c
            categories[rows] = np.minimum(
                np.searchsorted(cdfs[c], u[rows], side="right"), len(cdfs[c]) - 1
            )
        return categories

    def vectors(self, columns: np.ndarray, categories: np.ndarray) -> np.ndarray:
        cond = np.zeros((len(columns), self.width), dtype=np.float32)
        cond[np.arange(len(columns)), self.offsets[columns] + categories] = 1.0
        return cond

    def for_training(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(condition vectors, chosen column per row, a real row index matching each)."""
        columns = self._columns(n, rng, train=True)
        categories = self._draw(columns, self.log_cdf, rng)
        u = rng.random(n)
        real = np.zeros(n, dtype=np.int64)
        for c in np.unique(columns):
            rows = columns == c
            counts = self.counts[c].astype(np.int64)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            k = categories[rows]
            real[rows] = self.order[c][starts[k] + (u[rows] * counts[k]).astype(np.int64)]
        return self.vectors(columns, categories), columns, real

    def for_sampling(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(condition vectors, column, category) with categories at their real frequencies."""
        columns = self._columns(n, rng, train=False)
        categories = self._draw(columns, self.real_cdf, rng)
        return self.vectors(columns, categories), columns, categories

    def state(self) -> dict[str, Any]:
        return {
            "target_index": self.target_index,
            "columns": [s.column for s in self.spans],
            "counts": [c.tolist() for c in self.counts],
        }
