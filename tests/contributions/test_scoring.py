"""Proof-of-contribution scoring (pure)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from contributions import scoring


def test_combine_is_an_integer_weighted_mean() -> None:
    parts = {"authenticity": 5000, "ownership": 0, "quality": 10000, "uniqueness": 10000}
    weights = {"authenticity": 1, "ownership": 1, "quality": 2, "uniqueness": 2}
    assert scoring.combine(parts, weights) == 45000 // 6
    with pytest.raises(ValueError, match="positive"):
        scoring.combine(parts, dict.fromkeys(weights, 0))


def test_the_combined_score_counts_uniqueness_in_full() -> None:
    parts = {"authenticity": 5000, "ownership": 0, "quality": 10000, "uniqueness": 0}
    weights = {"authenticity": 1, "ownership": 1, "quality": 2, "uniqueness": 2}
    assert scoring.combined(parts, weights) == 45000 // 6
    assert scoring.combined(parts | {"uniqueness": 5000}, weights) == 45000 // 6


def test_ownership_parts() -> None:
    assert scoring.ownership_parts(signed=True) == {"authenticity": 10000, "ownership": 10000}
    assert scoring.ownership_parts(signed=False) == {"authenticity": 5000, "ownership": 0}


def test_tabular_quality_accounts_for_missing_and_out_of_range_cells() -> None:
    full = {"rows_total": 10, "rows_valid": 10, "columns": 2, "missing_by_column": {}}
    assert scoring.tabular_quality(full) == 10000
    holes = full | {"missing_by_column": {"a": 5}, "out_of_range": 2}
    assert scoring.tabular_quality(holes) == scoring.bps((1 - 5 / 20) * (1 - 2 / 20))
    assert scoring.tabular_quality({"rows_total": 0}) == 0


def _save(image: Image.Image, path: Path) -> Path:
    image.save(path, format="PNG")
    return path


def test_image_quality_prefers_sharp_large_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    sharp = Image.fromarray(rng.integers(0, 255, (400, 400), dtype=np.uint8))
    blurry = sharp.filter(ImageFilter.GaussianBlur(8))
    q_sharp = scoring.image_quality(_save(sharp, tmp_path / "s.png"))
    q_blurry = scoring.image_quality(_save(blurry, tmp_path / "b.png"))
    assert q_sharp > q_blurry
    assert q_sharp == scoring.bps(0.5 * 0.16 + 0.5 * 1.0)


def test_perceptual_hash_finds_a_reencoded_copy(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    base = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize((256, 256))
    other = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize((256, 256))
    copy = io.BytesIO()
    base.save(copy, format="JPEG", quality=85)
    (tmp_path / "c.jpg").write_bytes(copy.getvalue())
    h_base = scoring.image_phash(_save(base, tmp_path / "a.png"))
    h_copy = scoring.image_phash(tmp_path / "c.jpg")
    h_other = scoring.image_phash(_save(other, tmp_path / "o.png"))
    index, distance = scoring.nearest_hamming(h_copy, np.array([h_other, h_base], dtype=np.int64))
    assert index == 1 and distance <= 6
    assert scoring.nearest_hamming(h_copy, np.array([], dtype=np.int64)) == (-1, 64)
    assert scoring.image_uniqueness(0) == 0 and scoring.image_uniqueness(20) == 10000


def test_minhash_estimates_text_similarity() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    near = text.replace("lazy", "sleepy", 1)
    far = "Completely different words about air quality sensors in Lagos and Paris. " * 10
    signatures = [scoring.text_minhash(far), scoring.text_minhash(near)]
    index, similarity = scoring.nearest_jaccard(scoring.text_minhash(text), signatures)
    assert index == 1 and similarity > 0.8
    assert scoring.text_minhash(text) == scoring.text_minhash(text)  # deterministic
    assert scoring.nearest_jaccard(scoring.text_minhash(text), []) == (-1, 0.0)


def test_text_quality_reads_the_text_report() -> None:
    good = {"printable_ratio": 1.0, "letter_ratio": 0.8, "chars": 1000}
    assert scoring.text_quality(good) == 10000
    assert scoring.text_quality(good | {"chars": 100}) == 5000
    assert scoring.text_quality({}) == 0
