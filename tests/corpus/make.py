"""The bad-input corpus (issue #9): every entry is built here, deterministically.

Small entries are kept in ``tests/corpus/files/`` so they can be opened and read; run
``python -m tests.corpus.make`` to rewrite them (``tests/security/test_corpus.py`` checks the
kept files still equal what this module builds). Big entries (megabytes to 100 MB) are never
kept: ``build_big`` streams them into a temporary folder at test time. What each entry must
produce is in ``tests/corpus/expected.json``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
# The largest file the corpus may keep in the repository.
MAX_KEPT_BYTES = 100 * 1024

GOOD_CSV = b"id,value,kind\n1,1.5,a\n2,2.5,b\n"


# --- images -----------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def small_png() -> bytes:
    """A valid 8×8 grey PNG (each row: filter byte 0, then RGB pixels)."""
    return _png(8, 8, (b"\x00" + b"\x80" * 24) * 8)


def polyglot_png_html() -> bytes:
    """A valid PNG with a web page after IEND: a browser sniffing it would run the script."""
    return small_png() + b"<!doctype html><html><body><script>alert(document.cookie)</script>"


def png_huge_dimensions() -> bytes:
    """A decompression bomb: a 200-byte PNG declaring 100000×100000 pixels (30 GB as RGB).
    Its IDAT holds a single row's worth of zeros; no decoder may ever get to allocate."""
    return _png(100_000, 100_000, b"\x00" * 1024)


def png_truncated() -> bytes:
    """A valid PNG cut off inside its pixel data (IDAT), as an interrupted download leaves it."""
    return small_png()[:-20]


# --- text -------------------------------------------------------------------------------------


def html_named_csv() -> bytes:
    return b"<!doctype html><html><head><title>x</title></head><script>alert(1)</script></html>"


def mixed_encodings_csv() -> bytes:
    """UTF-8 on one row, Latin-1 on the next, then Windows-1252 quotes: three encodings."""
    return (
        b"id,value,kind\n"
        + b"1,1.5,a\n"
        + b"2,2.5,caf\xe9\n"  # Latin-1 e-acute: not UTF-8
        + b"3,3.5,\x93b\x94\n"  # cp1252 curly quotes
    )


def broken_first_line_jsonl() -> bytes:
    """JSON Lines whose first line is cut short: shaped like JSON, so judged as JSON Lines (not
    as a CSV with a strange header) and refused naming line 1."""
    return b'{"id": 1, "value": 2.5, "kind": "a"\n{"id": 2, "value": 3.5, "kind": "b"}\n'


def deeply_nested_jsonl() -> bytes:
    """One JSON Lines row whose value nests 5000 levels deep (the stdlib parser's recursion
    limit is ~1000; a validator that just calls json.loads crashes with RecursionError)."""
    depth = 5000
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    return (
        b'{"id": 1, "value": 2.5, "kind": "a"}\n{"id": 2, "value": ' + nested + b', "kind": "b"}\n'
    )


# --- zips -------------------------------------------------------------------------------------


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def zip_ratio_bomb() -> bytes:
    """50 MB of zeros in ~50 KB: a ratio of about 1000."""
    return _zip([("zeros.csv", b"0" * 50_000_000)])


def zip_nested() -> bytes:
    inner = _zip([("inner.csv", GOOD_CSV)])
    return _zip([("data.csv", GOOD_CSV), ("more.zip", inner)])


def zip_slip() -> bytes:
    return _zip([("data.csv", GOOD_CSV), ("../../../etc/cron.d/evil", b"* * * * * root sh\n")])


def zip_many_entries(count: int = 10_001) -> bytes:
    """More entries than ``ZipLimits.max_entries`` (about 1 MB, so built at test time)."""
    return _zip([(f"e{i}.csv", b"") for i in range(count)])


# --- what is kept -----------------------------------------------------------------------------

SMALL: dict[str, Callable[[], bytes]] = {
    "good.csv": lambda: GOOD_CSV,
    "polyglot.png": polyglot_png_html,
    "huge-dimensions.png": png_huge_dimensions,
    "truncated.png": png_truncated,
    "x.csv.html": html_named_csv,
    "mixed-encodings.csv": mixed_encodings_csv,
    "deeply-nested.jsonl": deeply_nested_jsonl,
    "broken-first-line.jsonl": broken_first_line_jsonl,
    "zip-ratio.zip": zip_ratio_bomb,
    "zip-nested.zip": zip_nested,
    "zip-slip.zip": zip_slip,
}


# --- built at test time -----------------------------------------------------------------------


def _write_wide_header(path: Path, columns: int = 1_000_000) -> None:
    """A CSV whose header names a million columns (~7 MB on one line), then one row."""
    with path.open("wb") as out:
        out.write(b",".join(f"c{i}".encode() for i in range(columns)) + b"\n")
        out.write(b"1" + b",1" * (columns - 1) + b"\n")


def _write_single_line(path: Path, size: int = 100 * 1024 * 1024) -> None:
    """A valid header, then one 100 MB line, written in 1 MiB pieces (never held in memory)."""
    piece = b"9" * (1024 * 1024)
    with path.open("wb") as out:
        out.write(b"id,value,kind\n1,")
        written = 0
        while written < size:
            out.write(piece)
            written += len(piece)
        out.write(b",a\n")


def _write_bytes(data: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data())


BIG: dict[str, Callable[[Path], None]] = {
    "wide-header.csv": _write_wide_header,
    "single-line-100mb.csv": _write_single_line,
    "zip-entries.zip": _write_bytes(zip_many_entries),
}


def build_big(name: str, folder: Path) -> Path:
    path = folder / name
    if not path.exists():
        BIG[name](path)
    return path


def corpus_path(name: str, folder: Path) -> Path:
    """The kept file ``name``, or the big one built into ``folder``."""
    return FILES / name if name in SMALL else build_big(name, folder)


def main() -> None:
    FILES.mkdir(exist_ok=True)
    for name, build in SMALL.items():
        data = build()
        assert len(data) <= MAX_KEPT_BYTES, f"{name} is {len(data)} bytes: build it at test time"
        (FILES / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
