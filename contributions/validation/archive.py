"""Zip archives checked for safety before anything is extracted. Pure: no Django imports.

``check_zip`` reads only the archive's directory (and a few bytes of each entry to spot nested
archives); it decompresses nothing else. The entry count and directory size are read from the
end-of-central-directory record *before* ``zipfile`` loads the directory and builds its list,
so a zip claiming ten million entries, or a directory of a gigabyte, costs nothing. Sizes and
ratios are those the directory declares: extract only with ``zipfile``, which stops reading an
entry at its declared size and checks its CRC, so the declared sizes are the sizes that can be
written.
"""

from __future__ import annotations

import itertools
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .base import human_size, preview

# The end-of-central-directory record is 22 bytes plus a comment of at most 65535.
_EOCD_SEARCH_BYTES = 22 + 65535
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ARCHIVE_SUFFIXES = (".zip", ".jar", ".apk", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")
_DRIVE = re.compile(r"^[A-Za-z]:")
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what an archive may expand to. Ratio = uncompressed / compressed per entry."""

    max_entries: int = 10_000
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: float = 100.0
    # zipfile reads the whole central directory into memory and makes an object per entry.
    max_directory_bytes: int = 16 * 1024 * 1024


def check_zip(path: Path, limits: ZipLimits | None = None) -> list[str]:
    """Return every safety problem of the zip at ``path`` (empty list = safe to extract).

    Refused: more than ``max_entries`` entries; declared total size over ``max_total_bytes``;
    an entry compressed more than ``max_ratio`` times (zip bomb); overlapping entries (the
    "overlapping files" zip bomb); nested archives (by name or content); path traversal (``..``
    components, absolute paths, backslashes, drive letters, NUL bytes); symbolic links;
    encrypted and duplicate entries. Never raises for a malformed file: that is a problem too.
    """
    limits = limits or ZipLimits()
    declared = _declared_directory(path)
    if declared is None:
        return ["the file is not a zip archive (no end-of-central-directory record)"]
    entries, directory_bytes = declared
    if entries > limits.max_entries:
        return [f"the archive has {entries} entries, more than the {limits.max_entries} allowed"]
    if directory_bytes > limits.max_directory_bytes:
        return [
            f"the archive's directory is {human_size(directory_bytes)}, more than the "
            f"{human_size(limits.max_directory_bytes)} allowed"
        ]
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            problems = _entry_problems(infos, limits)
            problems.extend(_nested_archives(archive, infos))
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        struct.error,
        zlib.error,
        NotImplementedError,
    ) as exc:
        return [f"the zip archive is malformed: {exc}"]
    return problems


def _declared_directory(path: Path) -> tuple[int, int] | None:
    """(entry count, central directory bytes) as the end records declare them, or None."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        stream.seek(max(0, size - _EOCD_SEARCH_BYTES))
        tail = stream.read()
        at = tail.rfind(_EOCD)
        if at < 0 or at + 22 > len(tail):
            return None
        count = int.from_bytes(tail[at + 10 : at + 12], "little")
        directory = int.from_bytes(tail[at + 12 : at + 16], "little")
        locator = at - 20
        zip64 = count == 0xFFFF or directory == 0xFFFFFFFF
        if zip64 and locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
            # Zip64: the real values are in the zip64 end record the locator points at.
            stream.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little") + 32)
            record = stream.read(16)
            count = int.from_bytes(record[:8], "little")
            directory = int.from_bytes(record[8:16], "little")
        return count, directory


def _entry_problems(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.orig_filename
        shown = preview(name)
        problems.extend(f"entry {shown!r}: {fault}" for fault in _name_faults(name))
        if name in seen:
            problems.append(f"entry {shown!r} appears more than once")
        seen.add(name)
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            problems.append(f"entry {shown!r} is a symbolic link")
        if info.flag_bits & 0x1:
            problems.append(f"entry {shown!r} is encrypted and cannot be checked")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 0 and ratio > limits.max_ratio:
            problems.append(
                f"entry {shown!r} expands {ratio:.0f} times ({human_size(info.compress_size)} "
                f"to {human_size(info.file_size)}), more than {limits.max_ratio:.0f}: "
                "a zip bomb"
            )
    if total > limits.max_total_bytes:
        problems.append(
            f"the archive expands to {human_size(total)}, more than the "
            f"{human_size(limits.max_total_bytes)} allowed"
        )
    problems.extend(_overlaps(infos))
    return problems


def _name_faults(name: str) -> list[str]:
    faults = []
    if "\x00" in name:
        faults.append("its name contains a NUL byte")
    if "\\" in name:
        faults.append("its name contains a backslash")
    if name.startswith("/"):
        faults.append("its name is an absolute path")
    if _DRIVE.match(name):
        faults.append("its name starts with a drive letter")
    if ".." in name.replace("\\", "/").split("/"):
        faults.append("its name climbs out of the folder with '..' (path traversal)")
    return faults


def _overlaps(infos: list[zipfile.ZipInfo]) -> list[str]:
    # Entries sharing or overlapping compressed data let a small file expand enormously. An
    # entry takes at least its 30-byte local header, its name and its compressed data.
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for before, after in itertools.pairwise(ordered):
        name_bytes = len(before.orig_filename.encode("utf-8", "surrogateescape"))
        if before.header_offset + 30 + name_bytes + before.compress_size > after.header_offset:
            return [
                f"entries {preview(before.orig_filename)!r} and {preview(after.orig_filename)!r}"
                " overlap in the archive (a zip bomb technique)"
            ]
    return []


def _nested_archives(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[str]:
    problems = []
    for info in infos:
        if info.is_dir():
            continue
        nested = info.orig_filename.lower().endswith(_ARCHIVE_SUFFIXES)
        # Peek only where the decoder honours a read size (stored, deflate): a bzip2/LZMA
        # block could expand a lot before the first 8 bytes come out.
        peekable = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        if not nested and peekable and not info.flag_bits & 0x1 and info.file_size >= 4:
            try:
                with archive.open(info) as entry:
                    nested = entry.read(8).startswith(_ARCHIVE_MAGIC)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
                problems.append(f"entry {preview(info.orig_filename)!r} cannot be read: {exc}")
                continue
        if nested:
            problems.append(f"entry {preview(info.orig_filename)!r} is itself an archive")
    return problems
