"""One critic step and one generator step of conditional WGAN-GP (PacGAN). Pure torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import Conditions, Critic, Generator, activate, condition_loss
from .settings import GanSettings
from .transform import TableEncoder


@dataclass
class Steps:
    """Everything one training step needs, built once per fit."""

    data: torch.Tensor  # encoded training rows
    encoder: TableEncoder
    conditions: Conditions
    generator: Generator
    critic: Critic
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: np.random.Generator
    batch: int
    settings: GanSettings

    def __post_init__(self) -> None:
        # Instance noise touches the normal scores only: one-hot blocks stay one-hot.
        mask = torch.zeros(self.encoder.width + self.conditions.width)
        for span in self.encoder.spans:
            if span.kind == "normal":
                mask[span.start] = 1.0
        self.noise_mask = mask * self.settings.instance_noise

    def _noisy(self, rows: torch.Tensor) -> torch.Tensor:
        if not self.settings.instance_noise:
            return rows
        return rows + torch.randn_like(rows) * self.noise_mask

    def fake(
        self, n: int, *, grad: bool
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray | None, np.ndarray]:
        """(raw generator output, condition vectors, conditioned column per row, real rows
        matching each condition)."""
        noise = torch.randn(n, self.settings.embedding_dim)
        if self.conditions.spans:
            cond_np, columns, real = self.conditions.for_training(n, self.rng)
        else:
            cond_np, columns = np.zeros((n, 0), np.float32), None
            real = self.rng.integers(0, len(self.data), n)
        cond = torch.from_numpy(cond_np)
        with torch.set_grad_enabled(grad):
            raw = self.generator(torch.cat([noise, cond], dim=1))
        return raw, cond, columns, real

    def critic_step(self) -> torch.Tensor:
        raw, cond, _, real_rows = self.fake(self.batch, grad=False)
        real = self._noisy(torch.cat([self.data[torch.from_numpy(real_rows)], cond], dim=1))
        fake = self._noisy(torch.cat([activate(raw, self.encoder.spans), cond], dim=1))
        loss = self.critic(fake).mean() - self.critic(real).mean()
        penalty = gradient_penalty(self.critic, real, fake, self.settings.pac)
        loss = loss + self.settings.gp_weight * penalty
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.detach()

    def generator_step(self) -> torch.Tensor:
        raw, cond, columns, _ = self.fake(self.batch, grad=True)
        fake = self._noisy(torch.cat([activate(raw, self.encoder.spans), cond], dim=1))
        loss = -self.critic(fake).mean()
        if columns is not None:
            loss = loss + condition_loss(raw, self.conditions.spans, columns, cond)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return loss.detach()


def gradient_penalty(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, pac: int
) -> torch.Tensor:
    """WGAN-GP's penalty, one interpolation weight per pack of ``pac`` rows."""
    width = real.shape[1]
    alpha = torch.rand(real.shape[0] // pac, 1, 1).repeat(1, pac, width).view(-1, width)
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    gradients = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
    norms = gradients.view(-1, pac * width).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()
