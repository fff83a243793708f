"""Builders for the files the validation tests feed in: images, PNG chunks, zips, schemas."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_declaring(width: int, height: int, pixels: bytes = b"\x00" * 64) -> bytes:
    """A small, well-formed PNG whose IHDR declares ``width`` x ``height`` (RGB, 8 bit)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(pixels))
        + png_chunk(b"IEND", b"")
    )


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30), **options: Any) -> bytes:
    """An image made by Pillow, encoded as ``fmt`` ("PNG", "JPEG", "GIF", "WEBP")."""
    mode = "P" if fmt == "GIF" else "RGB"
    image = Image.new(mode, size, 3 if mode == "P" else (200, 40, 10))
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def zip_bytes(
    entries: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


TABULAR_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 1, "max": 1000},
        {"name": "score", "type": "float", "min": 0, "max": 10},
        {"name": "active", "type": "bool"},
        {"name": "colour", "type": "category", "allowed": ["red", "green"]},
        {"name": "seen", "type": "datetime", "min": "2020-01-01", "max": "2030-01-01T00:00:00Z"},
        {"name": "code", "type": "string", "regex": "[A-Z]{3}-[0-9]+", "max_length": 12},
        {"name": "note", "type": "string"},
        {"name": "level", "type": "int", "allowed": [1, 2, 3]},
    ]
}
COLUMNS: list[dict[str, Any]] = TABULAR_SCHEMA["columns"]
CSV_HEADER = "id,score,active,colour,seen,code,note,level"
CSV_GOOD_ROW = "7,2.5,yes,red,2024-05-01T12:00:00+02:00,ABC-12,hello,2"
