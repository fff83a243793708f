"""The container structure of PNG, JPEG, GIF and WebP files, walked without decoding pixels.

Pure: no Django imports. ``image_layout`` finds the dimensions the header declares and where
the image format says the file ends, so that a decompression bomb is refused before any
decoder allocates memory, and bytes hidden after the end (a polyglot) can be detected. It
works on any bytes-like object, typically an ``mmap`` of the file, and copies nothing large.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

# JPEG segments that start a frame and carry its dimensions (SOF0..SOF15, not DHT/JPG/DAC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# In entropy-coded JPEG data, 0xFF is followed by 0x00 (stuffing) or a restart marker unless a
# real marker starts; fill bytes (0xFF 0xFF) are skipped by matching the last 0xFF.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass
class ImageLayout:
    """What the walk found. ``end`` is the offset just past the format's last structure
    (PNG IEND chunk, JPEG EOI marker, GIF trailer, WebP RIFF size), None if never reached.
    ``frames`` counts GIF image descriptors (1 for other formats); ``frame_pixels`` is the
    largest frame's pixel count. ``problems`` lists structural faults, worded for people."""

    width: int | None = None
    height: int | None = None
    end: int | None = None
    frames: int = 1
    frame_pixels: int = 0
    problems: list[str] = field(default_factory=list)


def image_layout(data: bytes | memoryview, fmt: str) -> ImageLayout:
    """Walk ``data`` as ``fmt`` ("PNG", "JPEG", "GIF" or "WEBP"); never raises on bad input."""
    walkers: dict[str, Callable[[memoryview], ImageLayout]] = {
        "PNG": _png,
        "JPEG": _jpeg,
        "GIF": _gif,
        "WEBP": _webp,
    }
    view = memoryview(data)
    try:
        return walkers[fmt](view)
    except IndexError:
        layout = ImageLayout()
        layout.problems.append(f"the {fmt} file is truncated: its structure ends mid-way")
        return layout


def _u16be(data: memoryview, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "big") if pos + 2 <= len(data) else _short()


def _u32be(data: memoryview, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "big") if pos + 4 <= len(data) else _short()


def _u16le(data: memoryview, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little") if pos + 2 <= len(data) else _short()


def _short() -> int:
    raise IndexError("data ends early")


def _png(data: memoryview) -> ImageLayout:
    layout = ImageLayout()
    pos = 8
    while pos + 12 <= len(data):
        length, kind = _u32be(data, pos), bytes(data[pos + 4 : pos + 8])
        name = kind.decode("latin-1")
        if pos == 8 and kind != b"IHDR":
            layout.problems.append("the PNG file does not start with an IHDR chunk")
            return layout
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            layout.problems.append(f"the PNG file is truncated: chunk {name!r} at offset {pos}")
            return layout
        crc = int.from_bytes(data[end - 4 : end], "big")
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            layout.problems.append(f"the PNG chunk {name!r} at offset {pos} has a bad checksum")
            return layout
        if kind == b"IHDR":
            layout.width, layout.height = _u32be(data, pos + 8), _u32be(data, pos + 12)
            layout.frame_pixels = layout.width * layout.height
        if kind == b"IEND":
            layout.end = end
            return layout
        pos = end
    layout.problems.append("the PNG file is truncated: it has no IEND chunk")
    return layout


def _jpeg(data: memoryview) -> ImageLayout:
    layout = ImageLayout()
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            layout.problems.append(f"the JPEG file has no marker where one must be ({pos})")
            return layout
        while data[pos] == 0xFF:
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            layout.end = pos
            return layout
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        segment_end = pos + _u16be(data, pos)
        if marker in _SOF and layout.width is None:
            layout.height, layout.width = _u16be(data, pos + 3), _u16be(data, pos + 5)
            layout.frame_pixels = layout.width * layout.height
        if segment_end > len(data):
            break
        pos = segment_end
        if marker == 0xDA:
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    layout.problems.append("the JPEG file is truncated: it has no end-of-image marker")
    return layout


def _gif(data: memoryview) -> ImageLayout:
    layout = ImageLayout(width=_u16le(data, 6), height=_u16le(data, 8), frames=0)
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:
            layout.end = pos + 1
            return layout
        if block == 0x21:
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:
            layout.frames += 1
            pixels = _u16le(data, pos + 5) * _u16le(data, pos + 7)
            layout.frame_pixels = max(layout.frame_pixels, pixels)
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            pos = _skip_sub_blocks(data, pos)
        else:
            layout.problems.append(f"the GIF file has an unknown block 0x{block:02X} at {pos}")
            return layout
    layout.problems.append("the GIF file is truncated: it has no trailer")
    return layout


def _skip_sub_blocks(data: memoryview, pos: int) -> int:
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _webp(data: memoryview) -> ImageLayout:
    layout = ImageLayout()
    riff_size = int.from_bytes(data[4:8], "little")
    layout.end = 8 + riff_size + (riff_size & 1)
    if layout.end > len(data):
        layout.problems.append("the WebP file is truncated: it is shorter than its header says")
        layout.end = None
    chunk = bytes(data[12:16])
    if chunk == b"VP8X":
        layout.width = 1 + int.from_bytes(data[24:27], "little")
        layout.height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        layout.width, layout.height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        layout.width = _u16le(data, 26) & 0x3FFF
        layout.height = _u16le(data, 28) & 0x3FFF
    else:
        layout.problems.append(f"the WebP file has an unknown first chunk {chunk!r}")
    if layout.width is not None and layout.height is not None:
        layout.frame_pixels = layout.width * layout.height
    return layout
