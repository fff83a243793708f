"""Classic image augmentation over numpy arrays, seeded. Pure (numpy and Pillow).

For image datasets, "synthetic" means augmented: each output is a real image flipped, rotated,
cropped, translated, scaled, noised, or mixed with another (mixup). Every random choice comes
from the caller's numpy ``Generator``, so the same seed gives the same images. Images are
``uint8`` arrays of shape (H, W) or (H, W, C) with C in 1, 3, 4; outputs keep the input's shape.

Augmented images are derived from real ones: they carry the same privacy and licence terms as
their sources, which is why they are not a substitute for the tabular gate's privacy checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class AugmentSettings:
    """Each transform's strength; 0 (or a probability of 0) turns it off."""

    flip_horizontal: float = 0.5  # probability
    flip_vertical: float = 0.0  # probability
    rotate_degrees: float = 15.0  # uniform in ±
    translate: float = 0.1  # fraction of width/height, uniform in ±
    scale: tuple[float, float] = (0.9, 1.1)
    crop_area: tuple[float, float] = (0.8, 1.0)  # kept fraction of the area, resized back
    noise_std: float = 4.0  # Gaussian noise, in 0–255 units
    mixup_alpha: float = 0.0  # Beta(α, α) mixing weight for ``augment_batch``; 0: no mixup

    def check(self) -> None:
        for name in ("flip_horizontal", "flip_vertical"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability in [0, 1]")
        if not (0 < self.scale[0] <= self.scale[1] <= 10):
            raise ValueError("scale must be (low, high) with 0 < low <= high <= 10")
        if not (0 < self.crop_area[0] <= self.crop_area[1] <= 1):
            raise ValueError("crop_area must be (low, high) with 0 < low <= high <= 1")
        if self.noise_std < 0 or self.mixup_alpha < 0 or self.translate < 0:
            raise ValueError("noise_std, mixup_alpha and translate cannot be negative")


def augment_settings(config: dict) -> AugmentSettings:  # type: ignore[type-arg]
    """Settings from a DAO's JSON pipeline config; unknown keys are refused, not ignored."""
    known = set(AugmentSettings.__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    settings = AugmentSettings(**values)
    settings.check()
    return settings


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8 arrays, not {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"images must be (H, W) or (H, W, 1|3|4), not {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS or min(image.shape[:2]) < 1:
        raise ValueError(f"image size {image.shape[1]}x{image.shape[0]} is out of range")


def augment(
    image: np.ndarray, rng: np.random.Generator, settings: AugmentSettings | None = None
) -> np.ndarray:
    """One augmented copy of ``image`` (flip, crop, affine, noise)."""
    settings = settings or AugmentSettings()
    settings.check()
    _check_image(image)
    out = image
    if rng.random() < settings.flip_horizontal:
        out = out[:, ::-1]
    if rng.random() < settings.flip_vertical:
        out = out[::-1]
    squeeze = out.ndim == 3 and out.shape[2] == 1
    picture = Image.fromarray(np.ascontiguousarray(out[:, :, 0] if squeeze else out))
    picture = _crop(picture, rng, settings.crop_area)
    picture = _affine(picture, rng, settings)
    result = np.asarray(picture, dtype=np.float64)
    if settings.noise_std:
        result = result + rng.normal(0.0, settings.noise_std, result.shape)
    result = np.clip(np.rint(result), 0, 255).astype(np.uint8)
    return result[:, :, None] if squeeze else result


def _crop(picture: Image.Image, rng: np.random.Generator, area: tuple[float, float]) -> Image.Image:
    kept = rng.uniform(*area)
    if kept >= 1.0:
        return picture
    width, height = picture.size
    w, h = max(1, round(width * math.sqrt(kept))), max(1, round(height * math.sqrt(kept)))
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return picture.resize(
        (width, height), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h)
    )


def _affine(
    picture: Image.Image, rng: np.random.Generator, settings: AugmentSettings
) -> Image.Image:
    """Rotation, scaling and translation about the centre, as one resampling."""
    width, height = picture.size
    theta = math.radians(rng.uniform(-settings.rotate_degrees, settings.rotate_degrees))
    scale = rng.uniform(*settings.scale)
    tx = rng.uniform(-settings.translate, settings.translate) * width
    ty = rng.uniform(-settings.translate, settings.translate) * height
    if theta == 0 and scale == 1 and tx == 0 and ty == 0:
        return picture
    # Pillow maps each output pixel back to an input pixel: give it the inverse transform.
    cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
    cx, cy = width / 2, height / 2
    a, b, d, e = cos, sin, -sin, cos
    c = cx - a * (cx + tx) - b * (cy + ty)
    f = cy - d * (cx + tx) - e * (cy + ty)
    return picture.transform(
        (width, height), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR
    )


def augment_batch(
    images: list[np.ndarray],
    n: int,
    *,
    seed: int,
    labels: np.ndarray | None = None,
    settings: AugmentSettings | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """``n`` augmented images drawn from ``images`` (with replacement), and their labels.

    ``labels`` are one row per image (e.g. one-hot); with mixup each output is a blend of two
    augmented images and its label the same blend of theirs, so labels come back as floats.
    """
    settings = settings or AugmentSettings()
    settings.check()
    if not images:
        raise ValueError("no images to augment")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    out_labels = []
    for _ in range(n):
        i = int(rng.integers(0, len(images)))
        image = augment(images[i], rng, settings).astype(np.float64)
        label = None if labels is None else np.asarray(labels[i], dtype=np.float64)
        if settings.mixup_alpha > 0:
            j = int(rng.integers(0, len(images)))
            if images[j].shape != images[i].shape:
                raise ValueError("mixup needs images of one shape")
            weight = rng.beta(settings.mixup_alpha, settings.mixup_alpha)
            image = weight * image + (1 - weight) * augment(images[j], rng, settings)
            if labels is not None:
                label = weight * label + (1 - weight) * np.asarray(labels[j], dtype=np.float64)
        out.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
        out_labels.append(label)
    return out, (np.array(out_labels) if labels is not None else None)
