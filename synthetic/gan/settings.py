"""GAN hyper-parameters and the progress record. Pure (no torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class GanSettings:
    """Hyper-parameters; the defaults fit a 500 × 30 table in seconds on one core."""

    epochs: int = 300
    time_budget_s: float | None = None
    # Small tables get smaller batches, large ones larger (see ``batch_for``).
    batch_size: int = 64
    # Steps per epoch at most: a larger table gets larger batches rather than more steps (its
    # gradients are less noisy per row; the step count, and so the fit time, stays bounded).
    max_steps_per_epoch: int = 25
    pac: int = 8
    embedding_dim: int = 64
    generator_dims: tuple[int, ...] = (128, 128)
    critic_dims: tuple[int, ...] = (128, 128)
    lr_generator: float = 1e-3
    lr_critic: float = 1e-3
    weight_decay: float = 1e-6
    gp_weight: float = 10.0
    # Std of Gaussian noise added to the normal scores the critic sees (real and generated):
    # blurs individual training rows so the generator is not pulled onto them.
    instance_noise: float = 0.1
    evaluations: int = 30  # validation checkpoints spread over the epochs
    # Epochs per validation; 0: ``epochs // evaluations``, or ``BUDGET_VALIDATE_EVERY`` under
    # a time budget (the epoch cap is then nominal). See ``validate_every``.
    validate_every: int = 0
    patience: int = 10  # evaluations without improvement before stopping early (0: never)
    validation_fraction: float = 0.0  # 0: score snapshots against the training rows
    calibrate: bool = True
    target_condition_rate: float = 1.0  # share of training rows conditioned on the target
    # A discrete column with more categories than this is not a condition (the target always
    # is): its one-hot condition would widen the generator's and (times ``pac``) the critic's
    # input for every row, and its rare categories' frequencies are set by the calibration.
    max_condition_levels: int = 100
    # One thread: these matrices are tiny, and more threads only add OpenMP synchronisation
    # (a hundred times slower when the other cores are busy, as on a shared worker).
    threads: int = 1
    # Differential privacy for the critic: {"epsilon": ε, "delta": δ, "max_grad_norm": C}.
    dp: dict[str, Any] | None = field(default=None)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GanSettings:
        known = {f.name for f in fields(cls)}
        clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# Under a time budget validation runs every this many epochs, whatever the nominal epoch cap.
BUDGET_VALIDATE_EVERY = 10


def validate_every(settings: GanSettings) -> int:
    """Epochs between validations (snapshot selection and early stopping)."""
    if settings.validate_every:
        return settings.validate_every
    if settings.time_budget_s is not None:
        return BUDGET_VALIDATE_EVERY
    return max(1, settings.epochs // max(1, settings.evaluations))


# Small tables: batches shrink (down to ``pac`` rows) to keep this many steps per epoch.
MIN_STEPS = 4


def batch_for(settings: GanSettings, n_rows: int) -> int:
    """The batch size for a table of ``n_rows``: a multiple of ``pac``, ``batch_size`` or
    less so that a small table gets ``MIN_STEPS`` steps per epoch, more so that a large one
    gets at most ``max_steps_per_epoch``."""
    pac = settings.pac
    batch = max(pac, min(settings.batch_size, n_rows // MIN_STEPS) // pac * pac)
    if settings.max_steps_per_epoch and n_rows // batch > settings.max_steps_per_epoch:
        batch = -(-n_rows // settings.max_steps_per_epoch) // pac * pac
    return batch


@dataclass(frozen=True)
class Progress:
    """Reported once per epoch to the ``progress`` callback."""

    epoch: int
    epochs: int
    elapsed_s: float
    eta_s: float
    loss_generator: float
    loss_critic: float | None  # None for a DP job: it is computed on real rows
    score: float | None  # the latest validation score, when this epoch had one
    best_score: float | None
