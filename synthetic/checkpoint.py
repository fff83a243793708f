"""A checkpoint container: canonical JSON metadata plus raw little-endian arrays. Pure.

No pickle: a checkpoint fetched from a content-addressed store by anybody's CID must be safe to
open, and ``torch.load`` of untrusted bytes is not. The same inputs give the same bytes (sorted
keys, fixed separators, no timestamps), so equal models get equal content addresses.

Layout: ``MAGIC`` (8 bytes), header length (uint32 little-endian), header JSON (UTF-8), then
the arrays back to back in header order. The header holds ``meta`` and, per array, its name,
dtype and shape.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

MAGIC = b"DDSYNTH1"
DTYPES = {"float32": "<f4", "float64": "<f8", "int64": "<i8"}
MAX_HEADER = 64 * 1024 * 1024


class CheckpointError(ValueError):
    """The bytes are not a checkpoint this code can read."""


def pack(meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    entries = []
    blobs = []
    for name, array in arrays.items():
        kind = str(array.dtype)
        if kind not in DTYPES:
            raise CheckpointError(f"array {name!r}: unsupported dtype {kind}")
        entries.append({"name": name, "dtype": kind, "shape": list(array.shape)})
        blobs.append(np.ascontiguousarray(array, dtype=DTYPES[kind]).tobytes())
    header = json.dumps(
        {"meta": meta, "arrays": entries}, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(blobs)


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if len(data) < 12 or data[:8] != MAGIC:
        raise CheckpointError("not a datadao synthetic checkpoint (bad magic)")
    (length,) = struct.unpack("<I", data[8:12])
    if length > MAX_HEADER or 12 + length > len(data):
        raise CheckpointError("truncated checkpoint header")
    try:
        header = json.loads(data[12 : 12 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"corrupt checkpoint header: {exc}") from None
    arrays: dict[str, np.ndarray] = {}
    offset = 12 + length
    for entry in header["arrays"]:
        dtype = np.dtype(DTYPES[entry["dtype"]])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        end = offset + count * dtype.itemsize
        if end > len(data):
            raise CheckpointError(f"truncated checkpoint: array {entry['name']!r}")
        array = np.frombuffer(data[offset:end], dtype=dtype).reshape(entry["shape"])
        arrays[entry["name"]] = array.astype(entry["dtype"])
        offset = end
    if offset != len(data):
        raise CheckpointError("trailing bytes after the last array")
    return header["meta"], arrays
