"""Proof-of-contribution scores. Pure: no Django imports. All scores are basis points.

The four parts, in the spirit of Vana's proof of contribution:

* **authenticity** — are these exactly the bytes someone vouches for? 10000 when the
  contributor signed the file's SHA-256 (EIP-191), 5000 when only our content checks vouch.
* **ownership** — did the contributor claim the data as theirs? 10000 signed, 0 unsigned.
* **quality** — per kind:
  - tabular: valid-row ratio × (1 − missing-cell share) × (1 − out-of-range share);
  - images: half resolution (1 megapixel or more scores full), half sharpness (variance of
    the Laplacian of the grey image; 100 or more scores full — blurry images score low);
  - text: printable share × letter share, scaled down for texts under 200 characters.
* **uniqueness** — tabular: share of the file's rows that are new to the dataset
  (``contributions.novelty``); images: perceptual-hash distance to the nearest accepted image
  (16 bits or more = unique); text: 1 − the highest estimated Jaccard similarity (MinHash) to
  an accepted text.

The combined score is the integer weighted mean with the dataset's weights, uniqueness
counted in full (``combined``): novelty is a gate, not a weight that good quality could make
up for. A file that adds nothing (no new row, or a near-duplicate image or text) is not
accepted on its scores, and a tabular file is paid only for its new rows
(``contributions.novelty``). Everything here is deterministic, so re-running
it on the pinned bytes reproduces the signed scores.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

BPS = 10_000
MINHASH_PERMUTATIONS = 128
MINHASH_SEED = 1
SHINGLE = 5


def bps(value: float) -> int:
    """A share in [0, 1] as basis points, rounded half up, clamped."""
    return max(0, min(BPS, int(value * BPS + 0.5)))


def combine(parts: dict[str, int], weights: dict[str, int]) -> int:
    """Integer weighted mean of the parts (weights are small non-negative integers)."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("at least one weight must be positive")
    return sum(parts[name] * weight for name, weight in weights.items()) // total


def combined(parts: dict[str, int], weights: dict[str, int]) -> int:
    """The combined score: ``combine`` with uniqueness counted in full. Novelty is a gate
    (a contribution that adds nothing is not accepted on its scores) and it scales the
    reward (``contributions.novelty``); as a weight it would let quality make up for a copy,
    or lower the score of a file that is only partly new, which its reward already pays
    less for."""
    return combine({**parts, "uniqueness": BPS}, weights)


def ownership_parts(*, signed: bool) -> dict[str, int]:
    return {"authenticity": BPS if signed else BPS // 2, "ownership": BPS if signed else 0}


# --- quality --------------------------------------------------------------------------------------


def tabular_quality(report: dict[str, Any]) -> int:
    rows = int(report.get("rows_total", 0))
    if rows <= 0:
        return 0
    valid = int(report.get("rows_valid", 0)) / rows
    columns = max(1, int(report.get("columns", 1)))
    missing = sum(int(v) for v in report.get("missing_by_column", {}).values()) / (rows * columns)
    out_of_range = int(report.get("out_of_range", 0)) / (rows * columns)
    return bps(valid * (1 - min(1.0, missing)) * (1 - min(1.0, out_of_range)))


def image_quality(path: Path) -> int:
    return image_scores(path)[0]


def image_scores(path: Path) -> tuple[int, int]:
    """(quality, perceptual hash) from one decode of the image: decoding a large image is the
    expensive part, so both measures share it."""
    import imagehash
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        grey_image = image.convert("L")
    grey = np.asarray(grey_image, dtype=np.float64)
    resolution = min(1.0, (width * height) / 1_000_000)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        sharpness = 0.0
    else:
        laplacian = (
            grey[1:-1, :-2]
            + grey[1:-1, 2:]
            + grey[:-2, 1:-1]
            + grey[2:, 1:-1]
            - 4 * grey[1:-1, 1:-1]
        )
        sharpness = min(1.0, float(laplacian.var()) / 100.0)
    # phash converts to grey itself; handing it the grey image makes that a no-op.
    return bps(0.5 * resolution + 0.5 * sharpness), _phash_int(imagehash.phash(grey_image))


def text_quality(metrics: dict[str, Any]) -> int:
    """From ``validation.text.TextReport``: printable and letter ratios, length in characters."""
    printable = float(metrics.get("printable_ratio", 0.0))
    letters = float(metrics.get("letter_ratio", 0.0))
    length = int(metrics.get("chars", 0))
    length_factor = min(1.0, length / 200)
    return bps(printable * min(1.0, letters / 0.5) * length_factor)


# --- uniqueness -----------------------------------------------------------------------------------


def image_phash(path: Path) -> int:
    """64-bit perceptual hash as a signed int64 (fits a BigIntegerField)."""
    return image_scores(path)[1]


def _phash_int(phash: Any) -> int:
    value = 0
    for bit in phash.hash.flatten():
        value = (value << 1) | int(bit)
    return value - (1 << 64) if value >= (1 << 63) else value


def nearest_hamming(phash: int, others: np.ndarray) -> tuple[int, int]:
    """(index, distance) of the nearest of ``others`` (int64 array); (-1, 64) when empty."""
    if others.size == 0:
        return -1, 64
    xor = np.bitwise_xor(others.view(np.uint64), np.uint64(phash & ((1 << 64) - 1)))
    distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
    index = int(distances.argmin())
    return index, int(distances[index])


def image_uniqueness(distance: int) -> int:
    return bps(min(1.0, distance / 16))


def _shingles(text: str) -> set[bytes]:
    normal = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    if len(normal) <= SHINGLE:
        return {normal.encode()}
    return {normal[i : i + SHINGLE].encode() for i in range(len(normal) - SHINGLE + 1)}


def text_minhash(text: str) -> bytes:
    """A MinHash signature (128 × uint64) of the text's 5-character shingles, fixed seed."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)
    minhash.update_batch(list(_shingles(text)))
    return minhash.hashvalues.astype(np.uint64).tobytes()


def nearest_jaccard(signature: bytes, others: list[bytes]) -> tuple[int, float]:
    """(index, estimated Jaccard) of the most similar signature; (-1, 0.0) when none."""
    if not others:
        return -1, 0.0
    mine = np.frombuffer(signature, dtype=np.uint64)
    matrix = np.frombuffer(b"".join(others), dtype=np.uint64).reshape(len(others), -1)
    similarity = (matrix == mine).mean(axis=1)
    index = int(similarity.argmax())
    return index, float(similarity[index])
