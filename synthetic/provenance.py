"""A run's provenance (what it was made from, with which settings and library versions) and
the arguments that repeat it byte for byte. Pure: no Django."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import replace
from typing import Any

import numpy as np

from .gan.settings import GanSettings
from .infer import InputError
from .tvae.settings import TvaeSettings


def sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def provenance(
    *,
    schema: dict[str, Any],
    seed: int,
    method: str,
    fitted: tuple[str, ...],
    gan_settings: GanSettings,
    tvae_settings: TvaeSettings,
    holdout_fraction: float,
    n_train: int,
    n_holdout: int,
    model_bytes: bytes,
    input_sha256: str,
) -> dict[str, Any]:
    """``fitted``: the generators the run fitted (each one's settings are recorded)."""
    import scipy
    import sklearn
    import torch

    out: dict[str, Any] = {
        "seed": seed,
        "method": method,
        "input_sha256": input_sha256,
        "schema_sha256": sha256_json(schema),
        "checkpoint_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "split": {"holdout_fraction": holdout_fraction, "train": n_train, "holdout": n_holdout},
        "settings": gan_settings.to_dict() if "gan" in fitted else {"conditional": True},
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
        },
    }
    if "tvae" in fitted:
        out["tvae_settings"] = tvae_settings.to_dict()
    return out


def _fixed_epochs(settings: Any, training: dict[str, Any], what: str, *also: str) -> dict[str, Any]:
    """A time budget becomes the epochs the run took (and ``also``: what else it recorded)."""
    if settings.time_budget_s is None:
        return {}
    if any(not training.get(k) for k in ("epochs_run", *also)):
        raise InputError(f"the provenance does not record the epochs its {what} took")
    return {
        "epochs": int(training["epochs_run"]),
        "time_budget_s": None,
        **{k: int(training[k]) for k in also},
    }


def replay_arguments(recorded: dict[str, Any]) -> dict[str, Any]:
    """``synthesize``'s keyword arguments (all but the rows) that repeat the run a report or
    its provenance records, byte for byte: a time budget becomes the epochs the run actually
    took (for the GAN with its validation cadence). The input rows and schema must hash as
    recorded."""
    provenance = recorded.get("provenance", recorded) if isinstance(recorded, dict) else None
    needed = ("seed", "method", "settings", "split", "rows")
    if not isinstance(provenance, dict) or any(k not in provenance for k in needed):
        raise InputError(
            "not a synthesis provenance (or report): it needs "
            + ", ".join(needed)
            + " (a provenance written before runs recorded them cannot be repeated)"
        )
    method = provenance["method"]
    settings = GanSettings()
    if method in ("gan", "auto"):
        settings = GanSettings.from_dict(provenance["settings"])
        if settings.dp is not None:
            raise InputError(
                "a DP run cannot be repeated: its noise comes from the operating system, not "
                "the seed (and a new run spends ε again)"
            )
        training = provenance.get("training") or {}
        settings = replace(settings, **_fixed_epochs(settings, training, "GAN", "validate_every"))
    tvae = TvaeSettings()
    if method in ("tvae", "auto"):
        if "tvae_settings" not in provenance:
            raise InputError("the provenance does not record the TVAE's settings")
        tvae = TvaeSettings.from_dict(provenance["tvae_settings"])
        tvae = replace(tvae, **_fixed_epochs(tvae, provenance.get("tvae_training") or {}, "TVAE"))
    constraints = provenance.get("constraints") or {}
    return {
        "n_rows": int(provenance["rows"]),
        "seed": int(provenance["seed"]),
        "method": method,
        "target": provenance.get("target"),
        "gan_settings": settings,
        "tvae_settings": tvae,
        "holdout_fraction": float(provenance["split"]["holdout_fraction"]),
        "constraints": list(constraints.get("declared", [])),
        "infer_constraints": bool(constraints.get("infer", True)),
        "conditions": list(provenance.get("conditions", [])),
        "require": {
            k: provenance[k] for k in ("input_sha256", "schema_sha256") if provenance.get(k)
        },
    }
