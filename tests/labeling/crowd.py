"""A simulated crowd with known truth, for the consensus tests and bench/labeling_consensus.py."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Crowd:
    """Labels (parallel ``tasks``/``workers``/``labels`` arrays) and the truth behind them."""

    tasks: IntArray
    workers: IntArray
    labels: IntArray
    truth: IntArray
    accuracy: npt.NDArray[np.float64]  # NaN for a spammer
    n_tasks: int
    n_workers: int
    n_classes: int


def simulate_crowd(
    n_tasks: int = 2_000,
    n_classes: int = 5,
    n_workers: int = 30,
    *,
    overlap: tuple[int, int] = (3, 5),
    accuracy: tuple[float, float] = (0.55, 0.95),
    spammers: float = 0.2,
    seed: int = 0,
) -> Crowd:
    """Each task gets ``overlap`` (inclusive range) distinct workers. A worker is right with
    its own accuracy (uniform in ``accuracy``) and otherwise picks a wrong class uniformly; the
    first ``spammers`` share of workers answer uniformly at random. Skewed class priors."""
    if n_workers < overlap[1]:
        raise ValueError("need at least as many workers as the largest overlap")
    rng = np.random.default_rng(seed)
    priors = rng.dirichlet(np.full(n_classes, 5.0))
    truth = rng.choice(n_classes, size=n_tasks, p=priors)
    skill = rng.uniform(*accuracy, size=n_workers)
    spam = np.arange(n_workers) < round(spammers * n_workers)
    per_task = rng.integers(overlap[0], overlap[1] + 1, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), per_task)
    # Distinct workers per task: draw the most a task can need, redraw rows with a repeat.
    picks = rng.integers(n_workers, size=(n_tasks, overlap[1]))
    while True:
        ordered = np.sort(picks, axis=1)
        repeats = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if not len(repeats):
            break
        picks[repeats] = rng.integers(n_workers, size=(len(repeats), overlap[1]))
    keep = np.arange(overlap[1])[None, :] < per_task[:, None]
    workers = picks[keep].astype(np.int64)
    right = rng.random(len(tasks)) < skill[workers]
    wrong = (truth[tasks] + rng.integers(1, n_classes, size=len(tasks))) % n_classes
    labels = np.where(right, truth[tasks], wrong)
    labels = np.where(spam[workers], rng.integers(n_classes, size=len(tasks)), labels)
    return Crowd(
        tasks=tasks,
        workers=workers,
        labels=labels.astype(np.int64),
        truth=truth.astype(np.int64),
        accuracy=np.where(spam, np.nan, skill),
        n_tasks=n_tasks,
        n_workers=n_workers,
        n_classes=n_classes,
    )
