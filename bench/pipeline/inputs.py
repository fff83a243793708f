"""The pipeline benchmark's inputs, made from a seed, and the floors they are measured
against: hashing and writing the same bytes once."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.pipeline.config import CSV_ROWS, IMAGE_SIDE, MIB, SEED

# --- deterministic inputs -------------------------------------------------------------------------


def write_csvs(folder: Path, count: int, first_id: int, rng: Any) -> list[Path]:
    """``count`` CSV files of CSV_ROWS rows; ids run on from ``first_id``, so every row of the
    run is distinct (and so every file)."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        base = first_id + index * CSV_ROWS
        values = rng.integers(0, 10_000, CSV_ROWS)
        kinds = rng.integers(0, 2, CSV_ROWS)
        minutes = rng.integers(0, 5 * 365 * 24 * 60, CSV_ROWS)
        notes = rng.integers(0, 1 << 40, CSV_ROWS)
        lines = ["id,value,kind,measured_at,note"]
        for r in range(CSV_ROWS):
            day, minute = divmod(int(minutes[r]), 24 * 60)
            stamp = (
                f"2021-{1 + day % 12:02d}-{1 + day % 28:02d}T{minute // 60:02d}:{minute % 60:02d}"
            )
            lines.append(
                f"{base + r},{values[r] / 100:.2f},{'ab'[kinds[r]]},{stamp}:00Z,n{notes[r]:x}"
            )
        path = folder / f"{base:09d}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def write_pngs(folder: Path, count: int, rng: Any) -> list[Path]:
    """``count`` IMAGE_SIDE-square RGB PNGs of seeded noise: distinct bytes and perceptual
    hashes about 32 bits apart, far from the near-duplicate distance."""
    from PIL import Image

    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        pixels = rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE, 3), dtype="uint8")
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, format="PNG")
        path = folder / f"{index:05d}.png"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def write_text(path: Path, size: int, seed: int = SEED) -> None:
    """``size`` bytes of seeded ASCII text (words and lines), written in 8 MiB steps."""
    import numpy as np

    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz      \n", dtype=np.uint8)
    with path.open("wb") as out:
        remaining = size
        while remaining:
            n = min(8 * MIB, remaining)
            out.write(alphabet[rng.integers(0, len(alphabet), n)].tobytes())
            remaining -= n


def min_phash_distance(paths: list[Path]) -> int:
    """The smallest perceptual-hash distance between two of the images (64 when < 2)."""
    import numpy as np

    from contributions.scoring import image_phash

    hashes = np.array([image_phash(p) for p in paths], dtype=np.int64).view(np.uint64)
    if len(hashes) < 2:
        return 64
    xor = np.bitwise_xor(hashes[:, None], hashes[None, :])
    bits = np.unpackbits(xor.view(np.uint8).reshape(len(hashes), len(hashes), 8), axis=2)
    distances = bits.sum(axis=2)
    np.fill_diagonal(distances, 64)
    return int(distances.min())


# --- floors ---------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def floor_seconds(paths: list[Path], scratch: Path) -> float:
    """sha256 + one write + one fsync of each file into a fresh folder."""
    target = Path(tempfile.mkdtemp(prefix="floor-", dir=scratch))
    try:
        start = time.perf_counter()
        for index, path in enumerate(paths):
            data = path.read_bytes()
            hashlib.sha256(data).digest()
            fd = os.open(target / str(index), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(target, ignore_errors=True)


def stream_floor_seconds(path: Path, scratch: Path, *, hash_it: bool) -> tuple[float, str]:
    """Read ``path`` in 1 MiB chunks and write it once to a fresh file, fsync at the end
    (hashing it too when ``hash_it``); returns (seconds, sha256 or "")."""
    target = scratch / f"floor-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    buf = bytearray(MIB)
    try:
        start = time.perf_counter()
        with open(path, "rb", buffering=0) as src:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                while n := src.readinto(buf):
                    chunk = memoryview(buf)[:n]
                    if hash_it:
                        digest.update(chunk)
                    _write_all(fd, chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
        return time.perf_counter() - start, digest.hexdigest() if hash_it else ""
    finally:
        target.unlink(missing_ok=True)
