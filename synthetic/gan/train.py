"""Training: conditional WGAN-GP with PacGAN, snapshot selection, budgets, progress, cancel.

Small tables are where CTGAN struggles: with its batch of 500 a 369-row table gets one step
per epoch, and the last epoch's generator is kept whatever its samples look like. Here batches
are small (several steps per epoch), a validation score (``select``) picks the best snapshot,
and training stops at the epoch count, the time budget, or when the score stops improving.

Deterministic on CPU given the seed, the data and the thread count: torch's global RNG is
forked and seeded for the fit, numpy draws come from a seeded ``Generator``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ..dp_request import DPRequest
from ..table import Table, train_holdout_split
from .model import Conditions, Critic
from .sample import TabularGAN, build_generator
from .select import selection_score
from .settings import GanSettings, Progress, batch_for, validate_every
from .steps import Steps
from .transform import TableEncoder

__all__ = ["Cancelled", "GanSettings", "Progress", "build_generator", "train"]


class Cancelled(RuntimeError):
    """``should_stop`` asked training to stop."""


def train(
    table: Table,
    *,
    target: str | None,
    seed: int,
    settings: GanSettings | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    public: dict[str, dict[str, Any]] | None = None,
) -> TabularGAN:
    """Fit a GAN on ``table``. ``should_stop`` is called each epoch: True (or an exception it
    raises) ends training with ``Cancelled`` (or that exception). ``public``: what the schema
    declares per column (``min``, ``max``, ``allowed``); a DP job takes those as given instead
    of spending ε on them."""
    settings = settings or GanSettings()
    if settings.dp is not None:
        DPRequest.from_dict(settings.dp).check()
        # A pack would make the unit of privacy a pack of rows, not a row; calibration would
        # fit the marginals to real rows outside the accountant.
        settings = replace(settings, pac=1, calibrate=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        # numpy/scipy BLAS too: their thread pools fight torch's for the same cores.
        with torch.random.fork_rng(devices=[]), threadpool_limits(settings.threads):
            torch.manual_seed(seed)
            return _train(table, target, seed, settings, progress, should_stop, public or {})
    finally:
        torch.set_num_threads(threads)


def _adam(params: Any, lr: float, settings: GanSettings) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        params, lr=lr, betas=(0.5, 0.9), weight_decay=settings.weight_decay, foreach=True
    )


def _train(
    table: Table,
    target: str | None,
    seed: int,
    settings: GanSettings,
    progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    public: dict[str, dict[str, Any]],
) -> TabularGAN:
    from .dp_sgd import DPSteps, split_request
    from .dp_stats import private_statistics

    start = time.monotonic()
    private = settings.dp is not None
    statistics: dict[str, Any] = {}
    dp_counts: dict[str, np.ndarray] = {}
    if private:
        request, sgd_request, stats_epsilon, stats_delta = split_request(settings.dp or {})
        columns, dp_counts, statistics = private_statistics(
            table, public, epsilon=stats_epsilon, delta=stats_delta
        )
        encoder = TableEncoder(table.specs, columns)
    else:
        encoder = TableEncoder.fit(table, target=target)
    fit_rows = val_rows = np.arange(table.n_rows)
    if settings.validation_fraction > 0:
        fit_rows, val_rows = train_holdout_split(
            table, holdout_fraction=settings.validation_fraction, seed=seed, target=target
        )
    encoded = encoder.encode(table)
    discrete = encoder.discrete_spans()
    target_span = next((s for s in discrete if s.column == target), None)
    target_index = discrete.index(target_span) if target_span is not None else None
    if private:
        # Category frequencies from the noisy counts, never from the rows.
        counts = [dp_counts[s.column] for s in discrete]
        conditions = Conditions(discrete, counts, target_index, settings.target_condition_rate)
    else:
        conditions = Conditions.fit(
            discrete, encoded[fit_rows], target_index, settings.target_condition_rate
        )
    generator = build_generator(encoder, conditions, settings)
    critic = Critic(encoder.width + conditions.width, tuple(settings.critic_dims), settings.pac)
    steps = Steps(
        data=torch.from_numpy(encoded[fit_rows]),
        encoder=encoder,
        conditions=conditions,
        generator=generator,
        critic=critic,
        opt_g=_adam(generator.parameters(), settings.lr_generator, settings),
        opt_d=_adam(critic.parameters(), settings.lr_critic, settings),
        rng=np.random.default_rng(seed),
        batch=batch_for(settings, len(fit_rows)),
        settings=settings,
    )
    gan = TabularGAN(
        encoder=encoder, conditions=conditions, generator=generator, settings=settings, info={}
    )
    validation = encoded[val_rows]
    per_epoch = max(1, len(fit_rows) // steps.batch)
    if private:
        steps = DPSteps.wrap(steps, sgd_request, planned_steps=settings.epochs * per_epoch)
    eval_every = validate_every(settings)
    best_score, best_state, best_epoch, stale, validations = -1.0, None, 0, 0, 0
    epoch, stopped = 0, "epochs"
    for epoch in range(1, settings.epochs + 1):
        if should_stop is not None and should_stop():
            raise Cancelled(f"cancelled at epoch {epoch} of {settings.epochs}")
        generator.train()
        critic.train()
        for _ in range(per_epoch):
            loss_d = steps.critic_step()
            loss_g = steps.generator_step()
        score = None
        elapsed = time.monotonic() - start
        out_of_time = settings.time_budget_s is not None and elapsed >= settings.time_budget_s
        # Under DP, scoring snapshots against real rows would be an unaccounted query.
        evaluate = not private and (epoch % eval_every == 0 or epoch == settings.epochs)
        if evaluate or (out_of_time and not private):
            generator.eval()
            rows = max(len(validation), 256)
            fake = gan.generate(rows, np.random.default_rng(seed + epoch), calibrate=False)
            score = selection_score(validation, fake, encoder.spans, target_span)
            validations += 1
            if score > best_score:
                best_score, best_epoch, stale = score, epoch, 0
                best_state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
            else:
                stale += 1
        if progress is not None:
            best = best_score if best_state is not None else None
            progress(
                Progress(
                    epoch,
                    settings.epochs,
                    elapsed,
                    _eta(elapsed, epoch, settings),
                    float(loss_g),
                    # The critic's loss is computed on real rows: not shown for a DP job.
                    None if private else float(loss_d),
                    score,
                    best,
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
        # With ``epochs_run`` as the epoch cap and no time budget, training repeats exactly.
        "validate_every": eval_every,
        "validations": validations,
        "steps_per_epoch": per_epoch,
        "batch_size": steps.batch,
        "train_rows": len(fit_rows),
        "validation_rows": len(val_rows) if settings.validation_fraction > 0 else 0,
    }
    if isinstance(steps, DPSteps):
        sgd = steps.spent()
        gan.info["dp"] = {
            **sgd,
            "epsilon": sgd["epsilon"] + stats_epsilon,
            "target_epsilon": request.epsilon,
            "delta": request.delta,
            "epsilon_sgd": sgd["epsilon"],
            "delta_sgd": sgd_request.delta,
            "epsilon_statistics": stats_epsilon,
            "delta_statistics": stats_delta,
            "statistics": statistics,
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
