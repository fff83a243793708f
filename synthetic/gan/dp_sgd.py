"""DP-SGD for the critic (opacus): per-row clipped, noised gradients and RDP accounting.

The critic is the only part that reads real rows; the generator learns only through it, so by
post-processing the generator (and every row it outputs) is (ε, δ)-DP with respect to the
training rows — as far as the critic's view goes. What DP mode changes:

* real rows are drawn by Poisson sampling (each row independently with rate q), which the RDP
  accountant assumes, and the critic is wrapped so each row's gradient is clipped to
  ``max_grad_norm`` before Gaussian noise is added;
* one row per pack (PacGAN's packs would make the unit of privacy a pack, not a row), and the
  classic non-saturating GAN loss: WGAN-GP's gradient penalty needs double backpropagation,
  which per-sample gradients do not support;
* no snapshot selection, early stopping or calibration (each would read real rows outside the
  accountant); the encoder's column statistics are bought with a share of ε (``dp_stats``).

What is and is not covered is recorded in the provenance as ``scope``.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..dp_request import DPRequest
from .model import activate, condition_loss
from .secure_random import secure_normal, secure_uniform
from .steps import Steps

ACCOUNTANT = "rdp"
NOISE_SOURCE = (
    "os.urandom (Gaussian noise and Poisson sampling of DP-SGD); the seed drives only the "
    "non-private parts (generator noise, split, sampling of output rows)"
)
# Share of a DP job's ε and δ spent on the encoder's column statistics (``dp_stats``); the
# rest goes to DP-SGD. The two add up (basic composition).
STATISTICS_SHARE = 0.2
SCOPE = (
    "covered: critic training (DP-SGD, per-row clipping, RDP accountant) and the column "
    "statistics (noisy category counts with rare categories suppressed, noisy ranges and "
    "quantile histograms; declared schema values taken as public); not covered: the number "
    "of training rows, the gate's pass or fail"
)


def split_request(dp: dict[str, Any]) -> tuple[DPRequest, DPRequest, float, float]:
    """(the job's request, DP-SGD's part, the statistics' ε, the statistics' δ)."""
    request = DPRequest.from_dict(dp)
    stats_epsilon = request.epsilon * STATISTICS_SHARE
    stats_delta = request.delta * STATISTICS_SHARE
    sgd = DPRequest(
        epsilon=request.epsilon - stats_epsilon,
        delta=request.delta - stats_delta,
        max_grad_norm=request.max_grad_norm,
    )
    return request, sgd, stats_epsilon, stats_delta


def plan(request: DPRequest, *, n_rows: int, batch: int, steps: int) -> dict[str, Any]:
    """The noise multiplier that spends ``request.epsilon`` over ``steps`` steps."""
    from opacus.accountants.utils import get_noise_multiplier

    sample_rate = min(1.0, batch / n_rows)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        sigma = get_noise_multiplier(
            target_epsilon=request.epsilon,
            target_delta=request.delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant=ACCOUNTANT,
        )
    return {"sample_rate": sample_rate, "noise_multiplier": float(sigma), "planned_steps": steps}


# Timing a DP step under a time budget: one untimed step (opacus' first-step set-up), then
# steps until both floors are reached (or the ceiling).
PROBE_MIN_STEPS = 3
PROBE_MIN_SECONDS = 0.5
PROBE_MAX_STEPS = 50
# The share of the time left that the planned epochs may fill: the probe is an estimate, and
# the epochs also poll for cancellation and report progress.
BUDGET_SHARE = 0.9


def time_steps(steps: Steps, request: DPRequest, stand_in: torch.Tensor) -> dict[str, Any]:
    """Seconds per DP training step (a critic step and a generator step), timed on throwaway
    copies of the networks and optimisers over ``stand_in``: rows the untrained generator
    drew, as many as the training rows, so the Poisson batches have the real ones' size. No
    private row is read and nothing is spent; the fit's own networks, optimisers and random
    streams are untouched."""
    probe = DPSteps.wrap(
        copy.deepcopy(replace(steps, data=stand_in)), request, planned_steps=PROBE_MAX_STEPS
    )
    with torch.random.fork_rng(devices=[]):
        probe.critic_step()
        probe.generator_step()
        taken, begun = 0, time.perf_counter()
        while taken < PROBE_MAX_STEPS and (
            taken < PROBE_MIN_STEPS or time.perf_counter() - begun < PROBE_MIN_SECONDS
        ):
            probe.critic_step()
            probe.generator_step()
            taken += 1
        seconds = (time.perf_counter() - begun) / taken
    return {"seconds_per_step": seconds, "steps_timed": taken, "on": "generated rows"}


def epochs_for_budget(
    *, cap: int, seconds_left: float, seconds_per_step: float, steps_per_epoch: int
) -> int:
    """The epochs that fit in ``BUDGET_SHARE`` of the time left (at least 1, at most ``cap``)."""
    per_epoch = max(seconds_per_step * steps_per_epoch, 1e-9)
    return max(1, min(cap, int(seconds_left * BUDGET_SHARE / per_epoch)))


def _secure_noise_optimizer() -> type:
    """Built on first use: importing opacus is slow, and only DP jobs need it."""
    from opacus.optimizers import DPOptimizer
    from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

    class SecureNoiseOptimizer(DPOptimizer):  # type: ignore[misc]
        """opacus' DP optimizer with its Gaussian noise drawn from the OS CSPRNG."""

        def add_noise(self) -> None:
            std = self.noise_multiplier * self.max_grad_norm
            for p in self.params:
                _check_processed_flag(p.summed_grad)
                noise = secure_normal(p.summed_grad.shape, std, p.summed_grad.dtype)
                p.grad = (p.summed_grad + noise).view_as(p)
                _mark_as_processed(p.summed_grad)

    return SecureNoiseOptimizer


@dataclass
class DPSteps(Steps):
    """``Steps`` with a DP-SGD critic. Build with ``DPSteps.wrap``."""

    request: DPRequest | None = None
    sample_rate: float = 0.0
    noise_multiplier: float = 0.0
    accountant: Any = None
    taken: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def wrap(cls, steps: Steps, request: DPRequest, planned_steps: int) -> DPSteps:
        from opacus import GradSampleModule
        from opacus.accountants import RDPAccountant

        details = plan(request, n_rows=len(steps.data), batch=steps.batch, steps=planned_steps)
        critic = GradSampleModule(steps.critic)
        optimizer = _secure_noise_optimizer()(
            torch.optim.Adam(
                critic.parameters(), lr=steps.settings.lr_critic, betas=(0.5, 0.9), foreach=True
            ),
            noise_multiplier=details["noise_multiplier"],
            max_grad_norm=request.max_grad_norm,
            expected_batch_size=steps.batch,
        )
        accountant = RDPAccountant()
        optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(details["sample_rate"]))
        return cls(
            data=steps.data,
            encoder=steps.encoder,
            conditions=steps.conditions,
            generator=steps.generator,
            critic=critic,  # type: ignore[arg-type]
            opt_g=steps.opt_g,
            opt_d=optimizer,
            rng=steps.rng,
            batch=steps.batch,
            settings=steps.settings,
            request=request,
            sample_rate=details["sample_rate"],
            noise_multiplier=details["noise_multiplier"],
            accountant=accountant,
            details=details,
        )

    def _generated(self, n: int, *, grad: bool) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Generated rows whose conditions come from category frequencies, not from rows."""
        noise = torch.randn(n, self.settings.embedding_dim)
        if self.conditions.spans:
            cond_np, columns, _ = self.conditions.for_sampling(n, self.rng)
        else:
            cond_np, columns = np.zeros((n, 0), np.float32), None
        cond = torch.from_numpy(cond_np)
        with torch.set_grad_enabled(grad):
            raw = self.generator(torch.cat([noise, cond], dim=1))
        return raw, cond, columns

    def _real_conditions(self, rows: torch.Tensor) -> torch.Tensor:
        """Each sampled real row's own category, for the column a condition would name."""
        if not self.conditions.spans:
            return torch.zeros(len(rows), 0)
        target = self.conditions.target_index
        if target is not None:
            columns = np.full(len(rows), target)
        else:
            columns = self.rng.integers(0, len(self.conditions.spans), len(rows))
        categories = np.zeros(len(rows), dtype=np.int64)
        encoded = rows.numpy()
        for c, span in enumerate(self.conditions.spans):
            picked = columns == c
            categories[picked] = encoded[picked, span.start : span.end].argmax(axis=1)
        return torch.from_numpy(self.conditions.vectors(columns, categories))

    def critic_step(self) -> torch.Tensor:
        # Poisson sampling: the batch size varies, as the accountant's analysis requires. The
        # draw is private (which rows a step saw), so it comes from the CSPRNG, not the seed.
        picked = np.flatnonzero(secure_uniform(len(self.data)) < self.sample_rate)
        real_rows = self.data[torch.from_numpy(picked)]
        real = self._noisy(torch.cat([real_rows, self._real_conditions(real_rows)], dim=1))
        raw, cond, _ = self._generated(self.batch, grad=False)
        fake = self._noisy(torch.cat([activate(raw, self.encoder.spans), cond], dim=1))
        logits = self.critic(torch.cat([real, fake])).squeeze(1)
        labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        self.opt_d.zero_grad(set_to_none=True)
        with warnings.catch_warnings():
            # The inputs need no gradient; opacus's hooks still see each layer's: harmless.
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        self.opt_d.step()
        self.taken += 1
        return loss.detach()

    def generator_step(self) -> torch.Tensor:
        critic = self.critic
        critic.disable_hooks()  # type: ignore[operator]  # no per-sample gradients here
        try:
            raw, cond, columns = self._generated(self.batch, grad=True)
            fake = self._noisy(torch.cat([activate(raw, self.encoder.spans), cond], dim=1))
            logits = critic(fake).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logits, torch.ones(len(fake)))
            if columns is not None:
                loss = loss + condition_loss(raw, self.conditions.spans, columns, cond)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            critic.enable_hooks()  # type: ignore[operator]
        return loss.detach()

    def spent(self) -> dict[str, Any]:
        """What the accountant says was spent, with everything needed to audit it."""
        assert self.request is not None
        with warnings.catch_warnings():
            # "Optimal order is the largest alpha": the bound is valid, only not the tightest.
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
            epsilon = self.accountant.get_epsilon(self.request.delta) if self.taken else 0.0
        return {
            "epsilon": float(epsilon),
            "target_epsilon": self.request.epsilon,
            "delta": self.request.delta,
            "max_grad_norm": self.request.max_grad_norm,
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "steps": self.taken,
            "planned_steps": self.details["planned_steps"],
            "accountant": ACCOUNTANT,
            "noise_source": NOISE_SOURCE,
            "noise_reproducible_from_seed": False,
            "scope": SCOPE,
        }
