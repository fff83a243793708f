"""Training: conditional WGAN-GP with PacGAN, snapshot selection, budgets, progress, cancel.

Small tables are where CTGAN struggles: with its batch of 500 a 369-row table gets one step
per epoch, and the last epoch's generator is kept whatever its samples look like. Here batches
are small (many steps per epoch), a validation score (``select``) picks the best snapshot, and
training stops at the epoch count, the time budget, or when the score stops improving.

Deterministic on CPU given the seed, the data and the thread count: torch's global RNG is
forked and seeded for the fit, numpy draws come from a seeded ``Generator``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ..table import Table, train_holdout_split
from .model import Conditions, Critic, Generator, activate, condition_loss
from .sample import TabularGAN
from .select import selection_score
from .transform import TableEncoder


class Cancelled(RuntimeError):
    """``should_stop`` asked training to stop."""


@dataclass(frozen=True)
class GanSettings:
    """Hyper-parameters; the defaults fit a 500 × 30 table in seconds on two cores."""

    epochs: int = 300
    time_budget_s: float | None = None
    batch_size: int = 32
    pac: int = 8
    embedding_dim: int = 64
    generator_dims: tuple[int, ...] = (128, 128)
    critic_dims: tuple[int, ...] = (128, 128)
    lr_generator: float = 1e-3
    lr_critic: float = 1e-3
    weight_decay: float = 1e-6
    gp_weight: float = 10.0
    evaluations: int = 30  # validation checkpoints spread over the epochs
    patience: int = 10  # evaluations without improvement before stopping early
    validation_fraction: float = 0.0  # 0: score snapshots against the training rows
    calibrate: bool = True
    target_condition_rate: float = 1.0  # share of training rows conditioned on the target
    threads: int = 1  # tiny matrices: more threads only add OpenMP sync (x100 slower when
    # the other cores are busy)
    dp: dict[str, Any] | None = field(default=None)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GanSettings:
        known = {f.name for f in fields(cls)}
        clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
        return cls(**clean)


@dataclass(frozen=True)
class Progress:
    """Reported once per epoch to the ``progress`` callback."""

    epoch: int
    epochs: int
    elapsed_s: float
    eta_s: float
    loss_generator: float
    loss_critic: float
    score: float | None  # the latest validation score, when this epoch had one
    best_score: float | None


def build_generator(
    encoder: TableEncoder, conditions: Conditions, settings: GanSettings
) -> Generator:
    width_in = settings.embedding_dim + conditions.width
    return Generator(width_in, tuple(settings.generator_dims), encoder.width)


def train(
    table: Table,
    *,
    target: str | None,
    seed: int,
    settings: GanSettings | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TabularGAN:
    """Fit a GAN on ``table``. ``should_stop`` is called each epoch: True (or an exception it
    raises) ends training with ``Cancelled`` (or that exception)."""
    settings = settings or GanSettings()
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        # numpy/scipy BLAS too: their thread pools fight torch's for the same cores.
        with torch.random.fork_rng(devices=[]), threadpool_limits(settings.threads):
            torch.manual_seed(seed)
            return _train(table, target, seed, settings, progress, should_stop)
    finally:
        torch.set_num_threads(threads)


def _train(
    table: Table,
    target: str | None,
    seed: int,
    settings: GanSettings,
    progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
) -> TabularGAN:
    start = time.monotonic()
    rng = np.random.default_rng(seed)
    encoder = TableEncoder.fit(table)
    fit_rows, val_rows = np.arange(table.n_rows), np.arange(table.n_rows)
    if settings.validation_fraction > 0:
        fit_rows, val_rows = train_holdout_split(
            table, holdout_fraction=settings.validation_fraction, seed=seed, target=target
        )
    encoded = encoder.encode(table)
    data = torch.from_numpy(encoded[fit_rows])
    validation = encoded[val_rows]
    discrete = encoder.discrete_spans()
    target_span = next((s for s in discrete if s.column == target), None)
    target_index = discrete.index(target_span) if target_span is not None else None
    conditions = Conditions.fit(
        discrete, encoded[fit_rows], target_index, settings.target_condition_rate
    )

    pac = settings.pac
    batch = max(pac, settings.batch_size // pac * pac)
    generator = build_generator(encoder, conditions, settings)
    critic = Critic(encoder.width + conditions.width, tuple(settings.critic_dims), pac)
    opt_g = torch.optim.Adam(
        generator.parameters(),
        lr=settings.lr_generator,
        betas=(0.5, 0.9),
        weight_decay=settings.weight_decay,
        foreach=True,
    )
    opt_d = torch.optim.Adam(
        critic.parameters(),
        lr=settings.lr_critic,
        betas=(0.5, 0.9),
        weight_decay=settings.weight_decay,
        foreach=True,
    )
    gan = TabularGAN(
        encoder=encoder, conditions=conditions, generator=generator, settings=settings, info={}
    )

    steps = max(1, len(fit_rows) // batch)
    eval_every = max(1, settings.epochs // max(1, settings.evaluations))
    best_score, best_state, best_epoch, stale = -1.0, None, 0, 0
    score: float | None = None
    epoch = 0
    stopped = "epochs"
    for epoch in range(1, settings.epochs + 1):
        if should_stop is not None and should_stop():
            raise Cancelled(f"cancelled at epoch {epoch} of {settings.epochs}")
        generator.train()
        critic.train()
        for _ in range(steps):
            loss_d = _critic_step(
                data, conditions, generator, critic, opt_d, rng, batch, encoder, settings
            )
            loss_g = _generator_step(
                conditions, generator, critic, opt_g, rng, batch, encoder, settings
            )
        score = None
        elapsed = time.monotonic() - start
        out_of_time = settings.time_budget_s is not None and elapsed >= settings.time_budget_s
        if epoch % eval_every == 0 or epoch == settings.epochs or out_of_time:
            generator.eval()
            fake = gan.generate(
                max(len(validation), 256), np.random.default_rng(seed + epoch), calibrate=False
            )
            score = selection_score(validation, fake, encoder.spans, target_span)
            if score > best_score:
                best_score, best_epoch, stale = score, epoch, 0
                best_state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
            else:
                stale += 1
        eta = _eta(elapsed, epoch, settings)
        if progress is not None:
            progress(
                Progress(
                    epoch,
                    settings.epochs,
                    elapsed,
                    eta,
                    float(loss_g),
                    float(loss_d),
                    score,
                    best_score if best_state is not None else None,
                )
            )
        if out_of_time:
            stopped = "time_budget"
            break
        if settings.patience and stale >= settings.patience:
            stopped = "no_improvement"
            break

    if best_state is not None:
        generator.load_state_dict(best_state)
    generator.eval()
    if settings.calibrate:
        gan.fit_calibration(encoded[fit_rows], np.random.default_rng(seed + 1))
    gan.info = {
        "epochs_run": epoch,
        "best_epoch": best_epoch,
        "best_score": best_score,
        "stopped": stopped,
        "steps_per_epoch": steps,
        "batch_size": batch,
        "train_rows": len(fit_rows),
        "validation_rows": len(val_rows) if settings.validation_fraction > 0 else 0,
    }
    # Wall time lives outside ``info``: ``info`` goes into the checkpoint, whose bytes must
    # depend only on the data, the settings and the seed.
    gan.fit_seconds = time.monotonic() - start
    return gan


def _eta(elapsed: float, epoch: int, settings: GanSettings) -> float:
    by_epochs = elapsed / epoch * (settings.epochs - epoch)
    if settings.time_budget_s is None:
        return by_epochs
    return max(0.0, min(by_epochs, settings.time_budget_s - elapsed))


def _fake(
    conditions: Conditions,
    generator: Generator,
    rng: np.random.Generator,
    batch: int,
    encoder: TableEncoder,
    settings: GanSettings,
    *,
    grad: bool,
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray | None]:
    noise = torch.randn(batch, settings.embedding_dim)
    if conditions.spans:
        cond_np, columns, real = conditions.for_training(batch, rng)
    else:
        cond_np, columns, real = np.zeros((batch, 0), np.float32), None, None
    cond = torch.from_numpy(cond_np)
    with torch.set_grad_enabled(grad):
        raw = generator(torch.cat([noise, cond], dim=1))
    return raw, cond, real if real is not None else np.zeros(0, np.int64), columns


def _critic_step(
    data: torch.Tensor,
    conditions: Conditions,
    generator: Generator,
    critic: Critic,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    batch: int,
    encoder: TableEncoder,
    settings: GanSettings,
) -> torch.Tensor:
    raw, cond, real_rows, _ = _fake(
        conditions, generator, rng, batch, encoder, settings, grad=False
    )
    if not conditions.spans:
        real_rows = rng.integers(0, len(data), batch)
    real = torch.cat([data[torch.from_numpy(real_rows)], cond], dim=1)
    fake = torch.cat([activate(raw, encoder.spans), cond], dim=1).detach()
    loss = critic(fake).mean() - critic(real).mean()
    loss = loss + settings.gp_weight * _gradient_penalty(critic, real, fake, settings.pac)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def _generator_step(
    conditions: Conditions,
    generator: Generator,
    critic: Critic,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    batch: int,
    encoder: TableEncoder,
    settings: GanSettings,
) -> torch.Tensor:
    raw, cond, _, columns = _fake(conditions, generator, rng, batch, encoder, settings, grad=True)
    fake = torch.cat([activate(raw, encoder.spans), cond], dim=1)
    loss = -critic(fake).mean()
    if columns is not None:
        loss = loss + condition_loss(raw, conditions.spans, columns, cond)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def _gradient_penalty(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, pac: int
) -> torch.Tensor:
    alpha = (
        torch.rand(real.shape[0] // pac, 1, 1).repeat(1, pac, real.shape[1]).view(-1, real.shape[1])
    )
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    gradients = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
    norms = gradients.view(-1, pac * real.shape[1]).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()
