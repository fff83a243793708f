"""TVAE hyper-parameters. Pure (no torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TvaeSettings:
    """TVAE's design (two 128-wide layers each way, reconstruction weighted 2, L2 1e-5) with
    batches sized for small tables; the defaults fit a 500 × 30 table in seconds on one core."""

    epochs: int = 300
    time_budget_s: float | None = None
    batch_size: int = 64  # the most; small tables get smaller batches (see ``batch_for``)
    embedding_dim: int = 64  # the latent vector's width
    encoder_dims: tuple[int, ...] = (128, 128)
    decoder_dims: tuple[int, ...] = (128, 128)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    loss_factor: float = 2.0
    # Correct the sampled marginals after training (``synthetic.gan.calibration``).
    calibrate: bool = True
    # One thread: these matrices are tiny (see ``GanSettings.threads``).
    threads: int = 1

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TvaeSettings:
        known = {f.name for f in fields(cls)}
        clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# Small tables: batches shrink (down to ``MIN_BATCH`` rows) to keep this many steps per epoch.
MIN_STEPS = 4
MIN_BATCH = 8


def batch_for(settings: TvaeSettings, n_rows: int) -> int:
    return max(MIN_BATCH, min(settings.batch_size, n_rows // MIN_STEPS))
