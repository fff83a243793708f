"""Randomness for the private parts of DP-SGD, from the operating system's CSPRNG. Pure numpy.

DP-SGD's guarantee assumes nobody can predict the Gaussian noise or the Poisson sample. A
seeded generator (the job's seed is public, in the provenance) makes both reproducible: retrain
on the same rows with the same seed and the checkpoint comes back bit for bit, retrain without
one row and it does not — a membership test. Every value here comes from ``os.urandom``, which
no stored value can reproduce. (opacus' own ``secure_mode`` needs ``torchcsprng``, which has
no build for the torch this project runs.)
"""

from __future__ import annotations

import os

import numpy as np
import torch

__all__ = ["secure_normal", "secure_uniform"]


def secure_uniform(n: int) -> np.ndarray:
    """``n`` doubles uniform on the open interval (0, 1), 53 random bits each."""
    bits = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(11)
    return (bits.astype(np.float64) + 0.5) * 2.0**-53


def _standard_normal(n: int) -> np.ndarray:
    """Box–Muller on CSPRNG uniforms."""
    half = (n + 1) // 2
    radius = np.sqrt(-2.0 * np.log(secure_uniform(half)))
    angle = 2.0 * np.pi * secure_uniform(half)
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:n]


def secure_normal(
    shape: torch.Size | tuple[int, ...], std: float, dtype: torch.dtype
) -> torch.Tensor:
    """N(0, std²) noise. The sum of four draws halved (opacus' ``secure_mode`` recipe, after
    Holohan & Braghin 2021) so the low bits of a float do not betray which draw it was."""
    n = int(np.prod(shape)) if len(shape) else 1
    draws = sum(_standard_normal(n) for _ in range(4)) / 2.0
    return torch.from_numpy(draws * std).to(dtype).reshape(shape)
