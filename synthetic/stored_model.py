"""A published model from its checkpoint bytes, and more rows from it. Pure: no Django."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import checkpoint
from .constraints import RowChecker, sample_valid
from .copula import FORMAT as COPULA_FORMAT
from .copula import GaussianCopula
from .table import Table
from .table_constraints import ConstraintSet


def load_model(data: bytes) -> Any:
    """A fitted model (``TabularGAN``, ``TabularVAE`` or ``GaussianCopula``) from checkpoint
    bytes."""
    from .gan.sample import FORMAT as GAN_FORMAT
    from .gan.sample import TabularGAN
    from .tvae.model import FORMAT as TVAE_FORMAT
    from .tvae.model import TabularVAE

    meta, _ = checkpoint.unpack(data)
    if meta.get("format") == GAN_FORMAT:
        return TabularGAN.from_bytes(data)
    if meta.get("format") == TVAE_FORMAT:
        return TabularVAE.from_bytes(data)
    if meta.get("format") == COPULA_FORMAT:
        return GaussianCopula.from_state(meta)
    raise checkpoint.CheckpointError(f"unknown checkpoint format {meta.get('format')!r}")


def sample_from_checkpoint(
    data: bytes,
    *,
    n_rows: int,
    seed: int,
    schema: dict[str, Any],
    real_rows: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """More rows from a stored model, schema and the run's constraints enforced (the checkpoint
    carries them). The checkpoint holds no real rows, so copies are dropped only of the
    canonical ``real_rows`` passed in (none for a DP model)."""
    model = load_model(data)
    meta, _ = checkpoint.unpack(data)
    stored = (meta.get("info") or {}).get("constraints") or meta.get("constraints")
    rules = ConstraintSet.from_fitted_state(stored) if stored else None
    if rules is not None:
        specs = rules.specs
    else:
        specs = model.encoder.specs if hasattr(model, "encoder") else model.table_specs
    forbidden = set(Table.from_records(real_rows, specs).row_keys()) if real_rows else set()

    def draw(k: int, rng: np.random.Generator) -> Table:
        sample = model.sample(k, rng)
        return rules.reverse(sample) if rules is not None else sample

    synthetic, _ = sample_valid(
        draw,
        n_rows,
        rng=np.random.default_rng(seed),
        checker=RowChecker(schema),
        forbidden=forbidden,
        rules=rules.problems if rules is not None else None,
    )
    return synthetic.records()
