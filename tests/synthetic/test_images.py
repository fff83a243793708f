"""Seeded classic image augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic.images import AugmentSettings, augment, augment_batch

OFF = AugmentSettings(
    flip_horizontal=0, rotate_degrees=0, translate=0, scale=(1, 1), crop_area=(1, 1), noise_std=0
)


def picture(shape: tuple[int, ...] = (24, 32, 3), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_all_off_is_the_identity_and_flips_are_exact() -> None:
    image = picture()
    assert np.array_equal(augment(image, np.random.default_rng(0), OFF), image)
    flip = AugmentSettings(**{**OFF.__dict__, "flip_horizontal": 1.0, "flip_vertical": 1.0})
    assert np.array_equal(augment(image, np.random.default_rng(0), flip), image[::-1, ::-1])


@pytest.mark.parametrize("shape", [(24, 32), (24, 32, 1), (24, 32, 3), (24, 32, 4)])
def test_shape_and_dtype_kept_and_seeded(shape: tuple[int, ...]) -> None:
    image = picture(shape)
    first = augment(image, np.random.default_rng(5))
    assert first.shape == image.shape and first.dtype == np.uint8
    assert np.array_equal(first, augment(image, np.random.default_rng(5)))
    assert not np.array_equal(first, augment(image, np.random.default_rng(6)))


def test_noise_has_the_requested_spread() -> None:
    image = np.full((64, 64), 128, dtype=np.uint8)
    noisy = augment(
        image, np.random.default_rng(0), AugmentSettings(**{**OFF.__dict__, "noise_std": 8.0})
    )
    assert 7.0 < (noisy.astype(float) - 128).std() < 9.0


def centroid(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(image > 127)
    return np.array([xs.mean(), ys.mean()])


def test_rotation_and_scaling_turn_about_the_centre() -> None:
    image = np.zeros((41, 61), dtype=np.uint8)
    image[15:26, 24:37] = 255  # a block around the centre (30, 20)
    spin = AugmentSettings(**{**OFF.__dict__, "rotate_degrees": 90.0, "scale": (0.7, 1.3)})
    for seed in range(5):
        out = augment(image, np.random.default_rng(seed), spin)
        assert np.allclose(centroid(out), [30, 20], atol=1.0)
    shift = AugmentSettings(**{**OFF.__dict__, "translate": 0.2})
    moved = [centroid(augment(image, np.random.default_rng(s), shift)) for s in range(5)]
    assert max(np.abs(m - [30, 20]).max() for m in moved) > 3


def test_batch_with_mixup_blends_labels() -> None:
    images = [picture(seed=i) for i in range(4)]
    labels = np.eye(4)
    settings = AugmentSettings(mixup_alpha=0.4)
    out, mixed = augment_batch(images, 10, seed=3, labels=labels, settings=settings)
    assert len(out) == 10 and mixed is not None and mixed.shape == (10, 4)
    assert np.allclose(mixed.sum(axis=1), 1.0)
    again, _ = augment_batch(images, 10, seed=3, labels=labels, settings=settings)
    assert all(np.array_equal(a, b) for a, b in zip(out, again, strict=True))


def test_refusals() -> None:
    with pytest.raises(ValueError, match="uint8"):
        augment(np.zeros((4, 4)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability"):
        augment(picture(), np.random.default_rng(0), AugmentSettings(flip_horizontal=2))
    with pytest.raises(ValueError, match="mixup needs images of one shape"):
        augment_batch(
            [picture(), picture((8, 8, 3))] * 4,
            20,
            seed=0,
            settings=AugmentSettings(mixup_alpha=1.0),
        )
    with pytest.raises(ValueError, match="3 labels for 2 images"):
        augment_batch([picture(), picture()], 2, seed=0, labels=np.eye(3))
