"""Training TVAE: minibatch ELBO with Adam, for a number of epochs or a time budget.

The ELBO is a likelihood bound, so unlike the GAN no snapshot selection is needed: the last
epoch's decoder is kept, and its sampled marginals are then calibrated as the GAN's are
(``synthetic.gan.calibration``). Deterministic on CPU given the seed, the data and the thread count:
torch's global RNG is forked and seeded for the fit (the reparameterisation noise), the batch
order comes from a seeded numpy ``Generator``.

Differential privacy is not offered: the encoder and the decoder's reconstruction loss both
read real rows, and only the GAN's critic is wired to the DP-SGD accountant
(``synthetic.gan.dp_sgd``); ``synthetic.synthesize`` refuses a DP job for this method.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ..gan.train import Cancelled
from ..gan.transform import TableEncoder
from ..table import Table
from .model import (
    MAX_SIGMA,
    MIN_SIGMA,
    EncoderNet,
    TabularVAE,
    build_decoder,
    elbo_loss,
    normal_positions,
)
from .settings import TvaeSettings, batch_for

__all__ = ["Cancelled", "TvaeSettings", "train"]


def train(
    table: Table,
    *,
    seed: int,
    target: str | None = None,
    settings: TvaeSettings | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TabularVAE:
    """Fit a TVAE on ``table`` (``target``: the column no map is conditioned on, see
    ``TableEncoder.fit``). ``progress`` gets one dict per epoch (epoch, losses, ETA);
    ``should_stop`` is called each epoch: True ends training with ``Cancelled``."""
    settings = settings or TvaeSettings()
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        with torch.random.fork_rng(devices=[]), threadpool_limits(settings.threads):
            torch.manual_seed(seed)
            return _train(table, seed, target, settings, progress, should_stop)
    finally:
        torch.set_num_threads(threads)


def _train(
    table: Table,
    seed: int,
    target: str | None,
    settings: TvaeSettings,
    progress: Callable[[dict[str, Any]], None] | None,
    should_stop: Callable[[], bool] | None,
) -> TabularVAE:
    start = time.monotonic()
    encoder = TableEncoder.fit(table, target=target)
    data = torch.from_numpy(encoder.encode(table))
    spans = encoder.spans
    normal = torch.tensor(normal_positions(spans), dtype=torch.long)
    net = EncoderNet(encoder.width, tuple(settings.encoder_dims), settings.embedding_dim)
    decoder = build_decoder(encoder, settings)
    optimiser = torch.optim.Adam(
        [*net.parameters(), *decoder.parameters()],
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        foreach=True,
    )
    rng = np.random.default_rng(seed)
    batch = batch_for(settings, len(data))
    per_epoch = max(1, len(data) // batch)
    epoch, stopped = 0, "epochs"
    loss_epoch = recon_epoch = kl_epoch = float("nan")
    for epoch in range(1, settings.epochs + 1):
        if should_stop is not None and should_stop():
            raise Cancelled(f"cancelled at epoch {epoch} of {settings.epochs}")
        net.train()
        decoder.train()
        order = torch.from_numpy(rng.permutation(len(data)))
        totals = np.zeros(3)
        for step in range(per_epoch):
            x = data[order[step * batch : (step + 1) * batch]]
            mu, logvar = net(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            loss, recon, kl = elbo_loss(
                x, decoder(z), decoder.sigma, mu, logvar, spans, normal, settings.loss_factor
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            with torch.no_grad():
                decoder.sigma.clamp_(MIN_SIGMA, MAX_SIGMA)
            totals += (float(loss.detach()), float(recon.detach()), float(kl.detach()))
        loss_epoch, recon_epoch, kl_epoch = (totals / per_epoch).tolist()
        elapsed = time.monotonic() - start
        out_of_time = settings.time_budget_s is not None and elapsed >= settings.time_budget_s
        if progress is not None:
            progress(
                {
                    "epoch": epoch,
                    "epochs": settings.epochs,
                    "elapsed_s": elapsed,
                    "eta_s": _eta(elapsed, epoch, settings),
                    "loss": loss_epoch,
                    "reconstruction": recon_epoch,
                    "kl": kl_epoch,
                }
            )
        if out_of_time:
            stopped = "time_budget"
            break
    decoder.eval()
    info = {
        "epochs_run": epoch,
        "stopped": stopped,
        "steps_per_epoch": per_epoch,
        "batch_size": batch,
        "train_rows": len(data),
        # The last epoch's mean losses per row (training rows: not a held-out figure).
        "loss": round(loss_epoch, 6),
        "reconstruction": round(recon_epoch, 6),
        "kl": round(kl_epoch, 6),
    }
    model = TabularVAE(encoder=encoder, decoder=decoder, settings=settings, info=info)
    if settings.calibrate:
        model.fit_calibration(data.numpy(), np.random.default_rng(seed + 1))
    # Wall time lives outside ``info``: ``info`` goes into the checkpoint, whose bytes must
    # depend only on the data, the settings and the seed.
    model.fit_seconds = time.monotonic() - start
    return model


def _eta(elapsed: float, epoch: int, settings: TvaeSettings) -> float:
    by_epochs = elapsed / epoch * (settings.epochs - epoch)
    if settings.time_budget_s is None:
        return by_epochs
    return max(0.0, min(by_epochs, settings.time_budget_s - elapsed))
