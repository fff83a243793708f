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
from dataclasses import dataclass, replace
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
    start = time.monotonic()
    run = _Run.build(table, target, seed, settings, public, start)
    _epochs(run, start, progress, should_stop)
    gan, best = run.gan, run.best
    if best.state is not None:
        gan.generator.load_state_dict(best.state)
    gan.generator.eval()
    if settings.calibrate:
        gan.fit_calibration(run.encoded[run.fit_rows], np.random.default_rng(seed + 1))
    gan.info = {
        "epochs_run": best.epoch_run,
        "best_epoch": best.epoch,
        "best_score": best.score,
        "stopped": best.stopped,
        # With ``epochs_run`` as the epoch cap and no time budget, training repeats exactly.
        "validate_every": validate_every(settings),
        "validations": best.validations,
        "steps_per_epoch": run.per_epoch,
        "batch_size": run.steps.batch,
        "train_rows": len(run.fit_rows),
        "validation_rows": len(run.val_rows) if settings.validation_fraction > 0 else 0,
    }
    if run.private is not None:
        gan.info["dp"] = run.private.spent(run.steps, best.epoch_run)
    # Wall time lives outside ``info``: ``info`` goes into the checkpoint, whose bytes must
    # depend only on the data, the settings and the seed.
    gan.fit_seconds = time.monotonic() - start
    return gan


@dataclass
class _Private:
    """A DP run's request, split between DP-SGD and the column statistics, and what the
    statistics released."""

    request: DPRequest
    sgd_request: DPRequest
    stats_epsilon: float
    stats_delta: float
    statistics: dict[str, Any]
    # Under a time budget: the epochs the noise was planned for, and the step timing it used.
    planned_epochs: int = 0
    timing: dict[str, Any] | None = None

    def spent(self, steps: Any, epochs_run: int) -> dict[str, Any]:
        """The whole run's privacy spend: DP-SGD's (from its accountant) plus the statistics'.
        A run stopped before its planned epochs (the time budget ran out first) spent less."""
        sgd = steps.spent()
        return {
            **sgd,
            "planned_epochs": self.planned_epochs,
            "epochs_run": epochs_run,
            "timing": self.timing,
            "epsilon": sgd["epsilon"] + self.stats_epsilon,
            "target_epsilon": self.request.epsilon,
            "delta": self.request.delta,
            "epsilon_sgd": sgd["epsilon"],
            "epsilon_sgd_target": self.sgd_request.epsilon,
            "delta_sgd": self.sgd_request.delta,
            "epsilon_statistics": self.stats_epsilon,
            "delta_statistics": self.stats_delta,
            "statistics": self.statistics,
        }


@dataclass
class _Best:
    """Snapshot selection and early stopping: the best validation so far, and how it ended."""

    score: float = -1.0
    state: dict[str, torch.Tensor] | None = None
    epoch: int = 0
    stale: int = 0
    validations: int = 0
    epoch_run: int = 0
    stopped: str = "epochs"

    def offer(self, score: float, epoch: int, generator: torch.nn.Module) -> None:
        self.validations += 1
        if score > self.score:
            self.score, self.epoch, self.stale = score, epoch, 0
            self.state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
        else:
            self.stale += 1


@dataclass
class _Run:
    """Everything one training run works with: the encoded rows and their split, the model
    and its optimisation steps (DP-SGD's for a DP run), the best snapshot so far."""

    seed: int
    settings: GanSettings
    gan: TabularGAN
    critic: Critic
    steps: Any  # Steps, or DPSteps for a DP run
    encoded: np.ndarray
    fit_rows: np.ndarray
    val_rows: np.ndarray
    target_span: Any
    per_epoch: int
    epochs: int  # the cap: the settings', or under DP with a time budget the planned epochs
    private: _Private | None
    best: _Best

    @classmethod
    def build(
        cls,
        table: Table,
        target: str | None,
        seed: int,
        settings: GanSettings,
        public: dict[str, dict[str, Any]],
        start: float,
    ) -> _Run:
        from .dp_sgd import DPSteps, split_request
        from .dp_stats import private_statistics

        private = None
        dp_counts: dict[str, np.ndarray] = {}
        if settings.dp is not None:
            request, sgd_request, stats_epsilon, stats_delta = split_request(settings.dp)
            columns, dp_counts, statistics = private_statistics(
                table, public, epsilon=stats_epsilon, delta=stats_delta
            )
            private = _Private(request, sgd_request, stats_epsilon, stats_delta, statistics)
            encoder = TableEncoder(table.specs, columns)
        else:
            encoder = TableEncoder.fit(table, target=target)
        fit_rows = val_rows = np.arange(table.n_rows)
        if settings.validation_fraction > 0:
            fit_rows, val_rows = train_holdout_split(
                table, holdout_fraction=settings.validation_fraction, seed=seed, target=target
            )
        encoded = encoder.encode(table)
        target_span = next((s for s in encoder.discrete_spans() if s.column == target), None)
        discrete = condition_spans(encoder, settings, target)
        target_index = discrete.index(target_span) if target_span is not None else None
        if private is not None:
            # Category frequencies from the noisy counts, never from the rows.
            counts = [dp_counts[s.column] for s in discrete]
            conditions = Conditions(discrete, counts, target_index, settings.target_condition_rate)
        else:
            conditions = Conditions.fit(
                discrete, encoded[fit_rows], target_index, settings.target_condition_rate
            )
        generator = build_generator(encoder, conditions, settings)
        critic = Critic(encoder.width + conditions.width, tuple(settings.critic_dims), settings.pac)
        steps: Any = Steps(
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
        per_epoch = max(1, len(fit_rows) // steps.batch)
        gan = TabularGAN(
            encoder=encoder, conditions=conditions, generator=generator, settings=settings, info={}
        )
        epochs = settings.epochs
        if private is not None:
            if settings.time_budget_s is not None:
                epochs = _plan_epochs(gan, steps, private, per_epoch, seed, settings, start)
            private.planned_epochs = epochs
            steps = DPSteps.wrap(steps, private.sgd_request, planned_steps=epochs * per_epoch)
        return cls(
            seed=seed,
            settings=settings,
            gan=gan,
            critic=critic,
            steps=steps,
            encoded=encoded,
            fit_rows=fit_rows,
            val_rows=val_rows,
            target_span=target_span,
            per_epoch=per_epoch,
            epochs=epochs,
            private=private,
            best=_Best(),
        )


def condition_spans(encoder: TableEncoder, settings: GanSettings, target: str | None) -> list[Any]:
    """The discrete columns the generator is conditioned on (``max_condition_levels``)."""
    return [
        s
        for s in encoder.discrete_spans()
        if s.width <= settings.max_condition_levels or s.column == target
    ]


def _plan_epochs(
    gan: TabularGAN,
    steps: Steps,
    private: _Private,
    per_epoch: int,
    seed: int,
    settings: GanSettings,
    start: float,
) -> int:
    """A DP run under a time budget: the epochs it will run, fixed before the noise is
    calibrated, so that the noise spends the ε asked for over those epochs rather than over
    the epoch cap. The step time is measured on generated rows (``dp_sgd.time_steps``)."""
    from .dp_sgd import epochs_for_budget, time_steps

    assert settings.time_budget_s is not None
    drawn = gan.generate(len(steps.data), np.random.default_rng(seed + 2), calibrate=False)
    stand_in = torch.from_numpy(drawn.astype(np.float32))
    private.timing = time_steps(steps, private.sgd_request, stand_in)
    return epochs_for_budget(
        cap=settings.epochs,
        seconds_left=settings.time_budget_s - (time.monotonic() - start),
        seconds_per_step=private.timing["seconds_per_step"],
        steps_per_epoch=per_epoch,
    )


def _epochs(
    run: _Run,
    start: float,
    progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Train epoch by epoch until the epochs, the time budget or the patience run out,
    validating every ``validate_every`` epochs (never under DP: scoring snapshots against
    real rows would be an unaccounted query)."""
    settings, gan, best = run.settings, run.gan, run.best
    generator, critic = gan.generator, run.critic
    validation = run.encoded[run.val_rows]
    eval_every = validate_every(settings)
    private = run.private is not None
    for epoch in range(1, run.epochs + 1):
        best.epoch_run = epoch
        if should_stop is not None and should_stop():
            raise Cancelled(f"cancelled at epoch {epoch} of {run.epochs}")
        generator.train()
        critic.train()
        for _ in range(run.per_epoch):
            loss_d = run.steps.critic_step()
            loss_g = run.steps.generator_step()
        score = None
        elapsed = time.monotonic() - start
        out_of_time = settings.time_budget_s is not None and elapsed >= settings.time_budget_s
        evaluate = not private and (epoch % eval_every == 0 or epoch == run.epochs)
        if evaluate or (out_of_time and not private):
            generator.eval()
            rows = max(len(validation), 256)
            fake = gan.generate(rows, np.random.default_rng(run.seed + epoch), calibrate=False)
            score = selection_score(validation, fake, gan.encoder.spans, run.target_span)
            best.offer(score, epoch, generator)
        if progress is not None:
            progress(
                Progress(
                    epoch,
                    run.epochs,
                    elapsed,
                    _eta(elapsed, epoch, run.epochs, settings),
                    float(loss_g),
                    # The critic's loss is computed on real rows: not shown for a DP job.
                    None if private else float(loss_d),
                    score,
                    best.score if best.state is not None else None,
                )
            )
        if out_of_time:
            best.stopped = "time_budget"
            return
        if settings.patience and best.stale >= settings.patience:
            best.stopped = "no_improvement"
            return


def _eta(elapsed: float, epoch: int, epochs: int, settings: GanSettings) -> float:
    by_epochs = elapsed / epoch * (epochs - epoch)
    if settings.time_budget_s is None:
        return by_epochs
    return max(0.0, min(by_epochs, settings.time_budget_s - elapsed))
