"""A fitted GAN: sampling, marginal calibration and checkpoint bytes. Pure torch/numpy.

Sampling draws every random number (noise, conditions, categories) from the caller's numpy
``Generator`` and runs the generator in eval mode (batch norm uses its running statistics, so
a row does not depend on the others in its batch): the same seed gives the same rows, without
touching torch's global RNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import ndtri

from .. import checkpoint
from ..table import Table
from .model import Conditions, Generator
from .settings import GanSettings
from .transform import TableEncoder

FORMAT = "datadao-synthetic-gan/1"
# Generated rows used to measure each normal score's marginal for calibration.
CALIBRATION_ROWS = 8192
CALIBRATION_KNOTS = 256
# Rounds of logit-bias fitting for one-hot blocks (each round: sample, compare, correct).
LOGIT_ROUNDS = 3
SAMPLE_BATCH = 4096


def build_generator(
    encoder: TableEncoder, conditions: Conditions, settings: GanSettings
) -> Generator:
    width_in = settings.embedding_dim + conditions.width
    return Generator(width_in, tuple(settings.generator_dims), encoder.width)


class TabularGAN:
    """What ``train`` returns: the generator plus everything needed to decode its output."""

    def __init__(
        self,
        *,
        encoder: TableEncoder,
        conditions: Conditions,
        generator: Generator,
        settings: Any,
        info: dict[str, Any],
        calibration: dict[str, dict[str, list[float]]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.conditions = conditions
        self.generator = generator.eval()
        self.settings = settings
        self.info = info
        # {"scores": {column: knots}, "logits": {span start: biases}}
        self.calibration: dict[str, dict[str, list[float]]] = calibration or {}
        self.fit_seconds: float | None = None

    def generate(
        self,
        n_rows: int,
        rng: np.random.Generator,
        *,
        calibrate: bool = True,
        given: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """``n_rows`` encoded rows (one-hot blocks hard, normal scores calibrated); ``given``
        (condition column, category) conditions every row on that category."""
        out = []
        for start in range(0, n_rows, SAMPLE_BATCH):
            out.append(self._generate(min(SAMPLE_BATCH, n_rows - start), rng, calibrate, given))
        return np.concatenate(out) if out else np.zeros((0, self.encoder.width), np.float32)

    def condition_for(self, column: str, value: Any) -> tuple[int, int] | None:
        """The (condition column, category) that generates rows with ``column`` = ``value``,
        or None when the generator does not condition on that column or never saw the value."""
        for c, span in enumerate(self.conditions.spans):
            if span.column == column:
                categories = self.encoder.columns[column]["categories"]
                matches = [
                    i for i, v in enumerate(categories) if v == value and type(v) is type(value)
                ]
                return (c, matches[0]) if matches else None
        return None

    def sample_given(self, n_rows: int, rng: np.random.Generator, given: tuple[int, int]) -> Table:
        return self.encoder.decode(self.generate(n_rows, rng, given=given))

    def _generate(
        self,
        n: int,
        rng: np.random.Generator,
        calibrate: bool,
        given: tuple[int, int] | None = None,
    ) -> np.ndarray:
        embedding = self.settings.embedding_dim
        noise = rng.standard_normal((n, embedding)).astype(np.float32)
        if given is not None:
            columns, categories = np.full(n, given[0]), np.full(n, given[1])
            cond = self.conditions.vectors(columns, categories)
        elif self.conditions.spans:
            cond, columns, categories = self.conditions.for_sampling(n, rng)
        else:
            cond, columns, categories = np.zeros((n, 0), np.float32), None, None
        with torch.no_grad():
            raw = self.generator(torch.from_numpy(np.hstack([noise, cond]))).numpy()
        out = raw.astype(np.float64)
        scores = self.calibration.get("scores", {}) if calibrate else {}
        biases = self.calibration.get("logits", {}) if calibrate else {}
        for span in self.encoder.spans:
            if span.kind == "onehot":
                # Gumbel-max: argmax(logits + Gumbel noise) samples softmax(logits).
                logits = out[:, span.start : span.end] + rng.gumbel(size=(n, span.width))
                if str(span.start) in biases:
                    logits = logits + np.array(biases[str(span.start)])
                block = np.zeros((n, span.width))
                block[np.arange(n), logits.argmax(axis=1)] = 1.0
                out[:, span.start : span.end] = block
            elif span.column in scores:
                knots = scores[span.column]
                levels = ndtri((np.arange(len(knots)) + 0.5) / len(knots))
                out[:, span.start] = np.interp(out[:, span.start], knots, levels)
        if columns is not None:
            # The conditioned column takes exactly the category asked for.
            for c, span in enumerate(self.conditions.spans):
                rows = np.flatnonzero(columns == c)
                out[rows, span.start : span.end] = 0.0
                out[rows, span.start + categories[rows]] = 1.0
        return out

    def fit_calibration(self, real: np.ndarray, rng: np.random.Generator) -> None:
        """Match each column's generated marginal to the real one, keeping the dependence.

        A generator that gets the relationships right but a marginal a little off (a missing
        rate, a rare category, a score distribution a little wide) is common on small tables.
        One-hot blocks get a bias per category on their logits, fitted in a few rounds;
        normal scores get a monotone map onto N(0, 1), which keeps every row's rank.
        """
        self.calibration = {"scores": {}, "logits": {}}
        target = self.conditions.target_index
        # The target's block is set from the condition at sampling: nothing to calibrate.
        forced = {self.conditions.spans[target].start} if target is not None else set()
        onehot = [s for s in self.encoder.spans if s.kind == "onehot" and s.start not in forced]
        for _ in range(LOGIT_ROUNDS if onehot else 0):
            encoded = self.generate(CALIBRATION_ROWS, rng)
            for span in onehot:
                p_real = real[:, span.start : span.end].mean(axis=0) + 1e-4
                p_fake = encoded[:, span.start : span.end].mean(axis=0) + 1e-4
                bias = np.array(self.calibration["logits"].get(str(span.start), [0.0] * span.width))
                bias = np.clip(bias + np.log(p_real / p_fake), -20.0, 20.0)
                self.calibration["logits"][str(span.start)] = bias.tolist()
        encoded = self.generate(CALIBRATION_ROWS, rng)
        levels = (np.arange(CALIBRATION_KNOTS) + 0.5) / CALIBRATION_KNOTS
        spans = self.encoder.spans
        for i, span in enumerate(spans):
            if span.kind != "normal":
                continue
            values = encoded[:, span.start]
            nxt = spans[i + 1] if i + 1 < len(spans) else None
            if nxt is not None and nxt.modes and nxt.column == span.column:
                values = values[encoded[:, nxt.start] == 1.0]  # rows that keep a value
            if len(values) >= CALIBRATION_KNOTS:
                knots = np.quantile(values, levels)
                self.calibration["scores"][span.column] = np.maximum.accumulate(knots).tolist()

    def sample(self, n_rows: int, rng: np.random.Generator) -> Table:
        return self.encoder.decode(self.generate(n_rows, rng))

    def to_bytes(self) -> bytes:
        arrays = {
            f"generator.{k}": v.detach().cpu().numpy()
            for k, v in self.generator.state_dict().items()
        }
        meta = {
            "format": FORMAT,
            "settings": self.settings.to_dict(),
            "encoder": self.encoder.state(),
            "conditions": self.conditions.state(),
            "calibration": self.calibration,
            "info": self.info,
        }
        return checkpoint.pack(meta, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> TabularGAN:
        meta, arrays = checkpoint.unpack(data)
        if meta.get("format") != FORMAT:
            raise checkpoint.CheckpointError(f"not a GAN checkpoint ({meta.get('format')!r})")
        settings = GanSettings.from_dict(meta["settings"])
        encoder = TableEncoder.from_state(meta["encoder"])
        state = meta["conditions"]
        conditions = Conditions(
            encoder.discrete_spans(), [np.array(c) for c in state["counts"]], state["target_index"]
        )
        generator = build_generator(encoder, conditions, settings)
        prefix = "generator."
        generator.load_state_dict(
            {k[len(prefix) :]: torch.from_numpy(v.copy()) for k, v in arrays.items()}
        )
        return cls(
            encoder=encoder,
            conditions=conditions,
            generator=generator,
            settings=settings,
            info=meta["info"],
            calibration=meta["calibration"],
        )
