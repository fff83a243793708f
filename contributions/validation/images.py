"""Image validation: bomb-safe dimension checks, polyglot refusal, then a full decode.

Pure: no Django imports. The order is the point:

1. The container is walked without decoding (``imagelayout``): truncation, bad PNG checksums,
   bytes after the format's end (after IEND, EOI, the GIF trailer or the RIFF size) and
   HTML/script markup anywhere in the file are refused, because a file that is both an image
   and a web page or script can be served as the latter.
2. The dimensions the header declares are checked against the schema's ``image`` limits and
   ``MAX_PIXELS`` *before* any decoder runs, so a small file declaring 100000x100000 pixels
   never allocates memory for them.
3. Pillow opens the file restricted to the sniffed format, with ``DecompressionBombWarning``
   turned into an error (its ``MAX_IMAGE_PIXELS`` is a second, larger guard), and ``load()``
   decodes the first frame fully to catch corrupt or truncated data.
"""

from __future__ import annotations

import mmap
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .base import ValidationFailed
from .imagelayout import ImageLayout, image_layout

# 50 megapixels: a 8660×5773 photo. Decoded as RGBA that is 200 MB, the most one upload may cost.
MAX_PIXELS = 50_000_000
MAX_FRAMES = 1000
PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
_END_NAMES = {
    "PNG": "the IEND chunk",
    "JPEG": "the end-of-image marker",
    "GIF": "the GIF trailer",
    "WEBP": "the RIFF container",
}
# Markup that makes a file renderable as a web page or runnable as a script. Each needs a
# delimiter after the tag name, so compressed pixel data almost never matches by chance.
_MARKUP = re.compile(
    rb"<script[\s>/]|<html[\s>]|<!doctype\s+html|<\?php|<iframe[\s>/]|<body[\s>]|<svg[\s>/]"
    rb"|javascript:",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ImageReport:
    """A decoded, accepted image: its size, Pillow mode ("RGB", "P"...) and format ("PNG")."""

    width: int
    height: int
    mode: str
    format: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_image(
    path: Path, *, media_type: str, limits: dict[str, Any] | None = None
) -> ImageReport:
    """Validate the image at ``path`` whose content was sniffed as ``media_type``.

    ``limits`` is the schema's ``image`` block (``min_width``, ``max_width``, ``min_height``,
    ``max_height``; all optional). Returns the report, or raises ``ValidationFailed`` with
    every problem found before decoding, or the decoding failure.
    """
    fmt = PILLOW_FORMATS[media_type]
    limits = limits or {}
    if path.stat().st_size == 0:
        raise ValidationFailed(["the file is empty"])
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        layout = image_layout(mm, fmt)
        reasons = [*layout.problems, *_polyglot_problems(mm, layout, fmt)]
    reasons.extend(_dimension_problems(layout, fmt, limits))
    if reasons:
        raise ValidationFailed(reasons)
    return _decode(path, fmt, layout, limits)


def image_structure_problems(
    path: Path, *, media_type: str, limits: dict[str, Any] | None = None
) -> list[str]:
    """Steps 1 and 2 of ``validate_image`` without the markup search or any decoding: the
    container's faults (truncation, bad checksums) and the declared dimensions against
    ``limits`` and the decompression-bomb guard. Cheap (one walk of the container), so the
    upload runs it and refuses such a file before it is stored."""
    fmt = PILLOW_FORMATS[media_type]
    if path.stat().st_size == 0:
        return ["the file is empty"]
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        layout = image_layout(mm, fmt)
    return [*layout.problems, *_dimension_problems(layout, fmt, limits or {})]


def _polyglot_problems(mm: mmap.mmap, layout: ImageLayout, fmt: str) -> list[str]:
    problems = []
    if layout.end is not None and layout.end < len(mm):
        extra = len(mm) - layout.end
        problems.append(
            f"the file has {extra} bytes after the end of the image ({_END_NAMES[fmt]}); "
            "files that hide other content after an image are refused"
        )
    found = _MARKUP.search(mm)
    if found is not None:
        marker = found.group().decode("latin-1").rstrip(" \t\r\n\f\v/>")
        problems.append(
            f"the file contains web-page or script markup ({marker!r} at offset "
            f"{found.start()}); an image that is also a web page or script is refused"
        )
    return problems


def _dimension_problems(layout: ImageLayout, fmt: str, limits: dict[str, Any]) -> list[str]:
    width, height = layout.width, layout.height
    if width is None or height is None:
        return [] if layout.problems else [f"the {fmt} header declares no dimensions"]
    if width == 0 or height == 0:
        return [f"the image declares {width}×{height} pixels: an empty image"]
    problems = []
    pixels = max(width * height, layout.frame_pixels)
    if pixels > MAX_PIXELS:
        problems.append(
            f"the image declares {width}×{height} pixels ({pixels}), more than the "
            f"{MAX_PIXELS} allowed; it is refused before decoding (decompression bomb guard)"
        )
    if layout.frames > MAX_FRAMES:
        problems.append(f"the image has {layout.frames} frames, more than {MAX_FRAMES}")
    for name, value in (("width", width), ("height", height)):
        low, high = limits.get(f"min_{name}"), limits.get(f"max_{name}")
        if high is not None and value > high:
            problems.append(f"the image {name} is {value} pixels, above the maximum {high}")
        if low is not None and value < low:
            problems.append(f"the image {name} is {value} pixels, below the minimum {low}")
    return problems


def _decode(path: Path, fmt: str, layout: ImageLayout, limits: dict[str, Any]) -> ImageReport:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[fmt]) as image:
                if image.size != (layout.width, layout.height):
                    # Pillow reads other dimensions than the walk did: check those it will use.
                    seen = ImageLayout(width=image.width, height=image.height)
                    seen.frames, seen.frame_pixels = layout.frames, image.width * image.height
                    problems = _dimension_problems(seen, fmt, limits)
                    if problems:
                        raise ValidationFailed(problems)
                image.load()
                return ImageReport(image.width, image.height, image.mode, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationFailed([f"the image is too large to decode safely: {exc}"]) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        # Pillow reports corrupt data with any of these, depending on format and codec.
        reason = f"the image could not be decoded (corrupt or truncated): {exc}"
        raise ValidationFailed([reason]) from None
