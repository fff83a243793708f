"""The pipeline benchmark's sizes, lanes, schemas, limits and settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._db import REDIS_URL, bench_env, public_key

SEED = 20_240_601
BENCH_DB = "datadao_bench"
TEMPLATE_DB = "datadao_bench_pipeline_template"
REDIS_DB = 14
FINAL = ("pinned", "rejected", "failed")
CSV_ROWS = 100
IMAGE_SIDE = 64
MIB = 1024 * 1024
TARGET_WEB_GROWTH_MIB = 64
FLOOR_PASSES = 3
STALL_SECONDS = 60

CSV_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
        {
            "name": "measured_at",
            "type": "datetime",
            "min": "2020-01-01T00:00:00+00:00",
            "max": "2030-01-01T00:00:00+00:00",
        },
        {"name": "note", "type": "string", "max_length": 64},
    ],
    "max_size": 10 * MIB,
}
PNG_SCHEMA: dict[str, Any] = {
    "media_types": ["image/png"],
    "max_size": 10 * MIB,
    "image": {"min_width": 4, "min_height": 4, "max_width": 4000, "max_height": 4000},
}


@dataclass(frozen=True)
class Mode:
    csv: int
    png: int
    repeat: int
    upload_mib: int


FULL = Mode(csv=1000, png=200, repeat=5, upload_mib=1024)
QUICK = Mode(csv=100, png=30, repeat=5, upload_mib=256)
# The lanes and the settings that select them (the bench's own process uses them too: the
# upload side decides whether a contribution waits for a batch).
LANES: dict[str, dict[str, str]] = {
    "batch": {},  # the product's defaults
    "express": {"PIPELINE_BATCH_SIZE": "1"},
    "stages": {"PIPELINE_BATCH_SIZE": "1", "PIPELINE_EXPRESS_MAX_BYTES": "0"},
}
WARMUP = {"csv": 20, "png": 5}


def pipeline_env(data_dir: Path) -> dict[str, str]:
    """The settings of the run (``bench.load`` starts from them too): the embedded IPFS store,
    an hourly quota no run can reach, a validator key derived from a public string."""
    return bench_env(
        database=BENCH_DB,
        broker_url=f"{REDIS_URL}/{REDIS_DB}",
        data_dir=data_dir,
        log_level="INFO",
        IPFS_BACKEND="embedded",
        CONTRIBUTIONS_PER_HOUR="1000000000",
        VALIDATOR_KEY=public_key("datadao-bench-validator"),
        PYTHONUNBUFFERED="1",
    )
