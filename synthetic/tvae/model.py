"""TVAE's networks, its ELBO loss, and the fitted model (sampling, checkpoint bytes). Pure torch.

The rows are the GAN's encoding (``synthetic.gan.transform``): a normal score per numeric
column and a one-hot block per discrete column (and per numeric column with missing values).
The encoder maps a row to a Gaussian posterior over a latent vector; the decoder maps a latent
vector back to a row: a mean per normal score, with one learned standard deviation per score
(as in TVAE), and logits per one-hot block. The loss is the negative ELBO: Gaussian negative
log-likelihood for the scores, cross-entropy for the blocks, plus the KL divergence to N(0, I).

Sampling draws every random number (latent vectors, output noise, categories) from the caller's
numpy ``Generator``; the decoder has no batch norm or dropout, so a row does not depend on the
others drawn with it and the same seed gives the same rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import checkpoint
from ..gan.calibration import Calibration, draw_onehot
from ..gan.transform import Span, TableEncoder
from ..table import Table
from .settings import TvaeSettings

FORMAT = "datadao-synthetic-tvae/1"
# TVAE's bounds on the learned output standard deviations (in normal-score units).
MIN_SIGMA = 0.01
MAX_SIGMA = 1.0
SAMPLE_BATCH = 4096


def _mlp(width_in: int, dims: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    width = width_in
    for dim in dims:
        layers += [nn.Linear(width, dim), nn.ReLU()]
        width = dim
    return nn.Sequential(*layers), width


class EncoderNet(nn.Module):
    """A row → the mean and log-variance of its latent posterior (used in training only)."""

    def __init__(self, width_in: int, dims: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.body, width = _mlp(width_in, dims)
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(x)
        return self.mu(hidden), self.logvar(hidden)


class DecoderNet(nn.Module):
    """A latent vector → a row's parameters (score means and block logits); ``sigma`` holds
    one learned standard deviation per encoded position (used at the normal scores only)."""

    def __init__(self, latent: int, dims: tuple[int, ...], width_out: int) -> None:
        super().__init__()
        self.body, width = _mlp(latent, dims)
        self.out = nn.Linear(width, width_out)
        self.sigma = nn.Parameter(torch.full((width_out,), 0.1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z))


def normal_positions(spans: list[Span]) -> list[int]:
    return [s.start for s in spans if s.kind == "normal"]


def elbo_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    sigma: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    spans: list[Span],
    normal: torch.Tensor,
    loss_factor: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the loss per row, its reconstruction part, its KL part): TVAE's weighting, where the
    reconstruction counts ``loss_factor`` times."""
    n = len(x)
    s = sigma[normal]
    recon_normal = ((x[:, normal] - recon[:, normal]) ** 2 / (2 * s**2)).sum() + torch.log(
        s
    ).sum() * n
    recon_blocks = x.new_zeros(())
    for span in spans:
        if span.kind == "onehot":
            target = x[:, span.start : span.end].argmax(dim=1)
            recon_blocks = recon_blocks + F.cross_entropy(
                recon[:, span.start : span.end], target, reduction="sum"
            )
    reconstruction = recon_normal + recon_blocks
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    return (loss_factor * reconstruction + kl) / n, reconstruction / n, kl / n


class TabularVAE:
    """What ``train`` returns: the decoder plus everything needed to decode its output. The
    encoder network is not kept: sampling needs only the decoder."""

    def __init__(
        self,
        *,
        encoder: TableEncoder,
        decoder: DecoderNet,
        settings: TvaeSettings,
        info: dict[str, Any],
        calibration: dict[str, dict[str, list[float]]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.decoder = decoder.eval()
        self.settings = settings
        self.info = info
        self.calibration = Calibration(calibration)
        self.fit_seconds: float | None = None

    def generate(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        """``n_rows`` encoded rows: normal scores drawn around the decoded means with the
        learned deviations, one category per block drawn from its softmax (Gumbel-max), both
        through the fitted calibration (``fit_calibration``)."""
        return self._draw(n_rows, rng, self.calibration)

    def fit_calibration(self, real: np.ndarray, rng: np.random.Generator) -> None:
        """Match each column's generated marginal to the encoded ``real`` rows' (category and
        mode frequencies, score distributions), keeping the dependence the decoder learned: a
        VAE's decoder tends to shrink rare modes and narrow its scores."""
        self.calibration = Calibration.fit(self._draw, real, self.encoder.spans, rng)

    def _draw(self, n_rows: int, rng: np.random.Generator, calibration: Calibration) -> np.ndarray:
        out = [
            self._generate(min(SAMPLE_BATCH, n_rows - start), rng, calibration)
            for start in range(0, n_rows, SAMPLE_BATCH)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.encoder.width), np.float32)

    def _generate(self, n: int, rng: np.random.Generator, calibration: Calibration) -> np.ndarray:
        z = rng.standard_normal((n, self.settings.embedding_dim)).astype(np.float32)
        with torch.no_grad():
            raw = self.decoder(torch.from_numpy(z)).numpy().astype(np.float64)
        sigma = self.decoder.sigma.detach().numpy().astype(np.float64)
        out = raw.copy()
        normal = normal_positions(self.encoder.spans)
        if normal:
            out[:, normal] = raw[:, normal] + sigma[normal] * rng.standard_normal((n, len(normal)))
        for span in self.encoder.spans:
            if span.kind == "onehot":
                block = raw[:, span.start : span.end]
                out[:, span.start : span.end] = draw_onehot(block, rng, calibration.bias(span))
            else:
                out[:, span.start] = calibration.map_score(span, out[:, span.start])
        return out

    def sample(self, n_rows: int, rng: np.random.Generator) -> Table:
        return self.encoder.decode(self.generate(n_rows, rng))

    def to_bytes(self) -> bytes:
        """The decoder's weights, the encoding's state (quantile knots are averages of
        neighbouring values, never one row's value: ``QuantileNormal.fit``) and the calibration
        (fitted on generated rows: logit biases and knots at generated quantiles)."""
        arrays = {
            f"decoder.{k}": v.detach().cpu().numpy() for k, v in self.decoder.state_dict().items()
        }
        meta = {
            "format": FORMAT,
            "settings": self.settings.to_dict(),
            "encoder": self.encoder.state(),
            "calibration": self.calibration.state(),
            "info": self.info,
        }
        return checkpoint.pack(meta, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> TabularVAE:
        meta, arrays = checkpoint.unpack(data)
        if meta.get("format") != FORMAT:
            raise checkpoint.CheckpointError(f"not a TVAE checkpoint ({meta.get('format')!r})")
        settings = TvaeSettings.from_dict(meta["settings"])
        encoder = TableEncoder.from_state(meta["encoder"])
        decoder = build_decoder(encoder, settings)
        prefix = "decoder."
        decoder.load_state_dict(
            {k[len(prefix) :]: torch.from_numpy(v.copy()) for k, v in arrays.items()}
        )
        return cls(
            encoder=encoder,
            decoder=decoder,
            settings=settings,
            info=meta["info"],
            calibration=meta.get("calibration"),
        )


def build_decoder(encoder: TableEncoder, settings: TvaeSettings) -> DecoderNet:
    return DecoderNet(settings.embedding_dim, tuple(settings.decoder_dims), encoder.width)
