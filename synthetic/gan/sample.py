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

from .. import checkpoint
from ..table import Table
from .calibration import Calibration, draw_onehot
from .model import Conditions, Generator
from .settings import GanSettings
from .transform import TableEncoder

FORMAT = "datadao-synthetic-gan/1"
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
        self.calibration = Calibration(calibration)
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
        return self._draw(n_rows, rng, self.calibration if calibrate else Calibration(), given)

    def _draw(
        self,
        n_rows: int,
        rng: np.random.Generator,
        calibration: Calibration,
        given: tuple[int, int] | None = None,
    ) -> np.ndarray:
        out = []
        for start in range(0, n_rows, SAMPLE_BATCH):
            out.append(self._generate(min(SAMPLE_BATCH, n_rows - start), rng, calibration, given))
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
        calibration: Calibration,
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
        for span in self.encoder.spans:
            if span.kind == "onehot":
                block = out[:, span.start : span.end]
                out[:, span.start : span.end] = draw_onehot(block, rng, calibration.bias(span))
            else:
                out[:, span.start] = calibration.map_score(span, out[:, span.start])
        if columns is not None:
            # The conditioned column takes exactly the category asked for.
            for c, span in enumerate(self.conditions.spans):
                rows = np.flatnonzero(columns == c)
                out[rows, span.start : span.end] = 0.0
                out[rows, span.start + categories[rows]] = 1.0
        return out

    def fit_calibration(self, real: np.ndarray, rng: np.random.Generator) -> None:
        """Match each column's generated marginal to the ``real`` one, keeping the dependence
        (``calibration``). The target's block is set from the condition at sampling: left
        alone."""
        target = self.conditions.target_index
        skip = frozenset({self.conditions.spans[target].start} if target is not None else ())
        self.calibration = Calibration.fit(
            lambda n, r, c: self._draw(n, r, c), real, self.encoder.spans, rng, skip=skip
        )

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
            "calibration": self.calibration.state(),
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
        spans = encoder.discrete_spans()
        if "columns" in state:
            spans = [s for s in spans if s.column in state["columns"]]
        conditions = Conditions(
            spans, [np.array(c) for c in state["counts"]], state["target_index"]
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
