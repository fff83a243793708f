"""validate_image: bombs refused before decoding, polyglots refused, corrupt data refused."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from contributions.validation import images
from contributions.validation.base import ValidationFailed
from contributions.validation.images import ImageReport, validate_image
from tests.contributions.validation.payloads import (
    PNG_SIGNATURE,
    image_bytes,
    png_chunk,
    png_declaring,
    write,
)

HTML = b"<html><script>alert(1)</script></html>"


def refusal(path: Path, media_type: str, limits: dict[str, int] | None = None) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_image(path, media_type=media_type, limits=limits)
    return caught.value.reasons


@pytest.mark.parametrize(
    ("fmt", "media_type", "mode", "options"),
    [
        ("PNG", "image/png", "RGB", {}),
        ("JPEG", "image/jpeg", "RGB", {}),
        ("JPEG", "image/jpeg", "RGB", {"progressive": True}),
        ("GIF", "image/gif", "P", {}),
        ("WEBP", "image/webp", "RGB", {}),
        ("WEBP", "image/webp", "RGB", {"lossless": True}),
    ],
)
def test_good_images_are_accepted(
    tmp_path: Path, fmt: str, media_type: str, mode: str, options: dict[str, bool]
) -> None:
    path = write(tmp_path / "img", image_bytes(fmt, (40, 30), **options))
    assert validate_image(path, media_type=media_type) == ImageReport(40, 30, mode, fmt)


def test_png_with_html_appended_after_iend_is_refused(tmp_path: Path) -> None:
    data = image_bytes("PNG")
    reasons = refusal(write(tmp_path / "p.png", data + HTML), "image/png")
    assert reasons == [
        f"the file has {len(HTML)} bytes after the end of the image (the IEND chunk); "
        "files that hide other content after an image are refused",
        f"the file contains web-page or script markup ('<html' at offset {len(data)}); "
        "an image that is also a web page or script is refused",
    ]


def test_png_with_script_in_a_text_chunk_is_refused(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    path = tmp_path / "t.png"
    Image.new("RGB", (8, 8)).save(path, "PNG", pnginfo=info)
    (reason,) = refusal(path, "image/png")
    assert reason.startswith("the file contains web-page or script markup ('<script' at offset ")


@pytest.mark.parametrize(
    ("fmt", "media_type", "end"),
    [
        ("JPEG", "image/jpeg", "the end-of-image marker"),
        ("GIF", "image/gif", "the GIF trailer"),
        ("WEBP", "image/webp", "the RIFF container"),
    ],
)
def test_trailing_bytes_after_the_image_are_refused(
    tmp_path: Path, fmt: str, media_type: str, end: str
) -> None:
    path = write(tmp_path / "img", image_bytes(fmt) + b"PK\x03\x04hidden")
    assert refusal(path, media_type) == [
        f"the file has 10 bytes after the end of the image ({end}); "
        "files that hide other content after an image are refused"
    ]


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.png", png_declaring(100_000, 100_000))
    assert path.stat().st_size < 200
    assert refusal(path, "image/png") == [
        "the image declares 100000×100000 pixels (10000000000), more than the 50000000 "
        "allowed; it is refused before decoding (decompression bomb guard)"
    ]


def test_pillow_bomb_guard_is_turned_into_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With our own cap lifted, Pillow's MAX_IMAGE_PIXELS is the guard that fires.
    monkeypatch.setattr(images, "MAX_PIXELS", 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = write(tmp_path / "a.png", image_bytes("PNG", (40, 30)))  # 1200 pixels: a warning
    (reason,) = refusal(path, "image/png")
    assert reason.startswith("the image is too large to decode safely: Image size (1200 pixels)")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1200 > 2 x 100: an error
    (reason,) = refusal(path, "image/png")
    assert reason.startswith("the image is too large to decode safely: Image size (1200 pixels)")


def test_truncated_png_is_refused(tmp_path: Path) -> None:
    data = image_bytes("PNG", (64, 64))
    path = write(tmp_path / "t.png", data[: len(data) - 20])
    assert refusal(path, "image/png") == ["the PNG file is truncated: chunk 'IDAT' at offset 33"]


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    data = image_bytes("JPEG", (64, 64))
    path = write(tmp_path / "t.jpg", data[: len(data) // 2])
    assert refusal(path, "image/jpeg") == [
        "the JPEG file is truncated: it has no end-of-image marker"
    ]


def test_png_with_bad_checksum_is_refused(tmp_path: Path) -> None:
    data = bytearray(image_bytes("PNG"))
    data[33 + 8 + 2] ^= 0xFF  # inside the IDAT data (chunk at 33: length, type, data)
    assert refusal(write(tmp_path / "c.png", bytes(data)), "image/png") == [
        "the PNG chunk 'IDAT' at offset 33 has a bad checksum"
    ]


def test_corrupt_pixel_data_with_valid_structure_fails_to_decode(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    data = (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"this is not zlib data")
        + png_chunk(b"IEND", b"")
    )
    (reason,) = refusal(write(tmp_path / "z.png", data), "image/png")
    assert reason.startswith("the image could not be decoded (corrupt or truncated): ")


def test_too_little_pixel_data_fails_to_decode(tmp_path: Path) -> None:
    path = write(tmp_path / "short.png", png_declaring(64, 64, pixels=b""))
    (reason,) = refusal(path, "image/png")
    assert reason.startswith("the image could not be decoded (corrupt or truncated): ")


def test_schema_dimension_limits(tmp_path: Path) -> None:
    path = write(tmp_path / "a.png", image_bytes("PNG", (40, 30)))
    limits = {"min_width": 50, "max_width": 100, "min_height": 10, "max_height": 20}
    assert refusal(path, "image/png", limits) == [
        "the image width is 40 pixels, below the minimum 50",
        "the image height is 30 pixels, above the maximum 20",
    ]
    assert validate_image(path, media_type="image/png", limits={"max_width": 40}).width == 40


def test_header_declaring_zero_pixels(tmp_path: Path) -> None:
    path = write(tmp_path / "zero.png", png_declaring(0, 10))
    assert refusal(path, "image/png") == ["the image declares 0×10 pixels: an empty image"]


def test_empty_file(tmp_path: Path) -> None:
    assert refusal(write(tmp_path / "e.png", b""), "image/png") == ["the file is empty"]
