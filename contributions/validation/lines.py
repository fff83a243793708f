"""Bounded, decoded physical lines of a binary stream: the base of the streaming validators.

Pure: no Django imports. A line is never longer than ``max_line_bytes``: a 100 MB single line
is refused after reading ``max_line_bytes + 1`` bytes, so memory stays bounded whatever the
file holds. Lines are decoded as strict UTF-8; a UTF-8 byte-order mark on the first line is
dropped (and recorded in ``encoding``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO

from .base import human_size
from .encoding import UTF8_BOM, not_utf8_message, window_around


class LineRefused(Exception):
    """A line cannot be read as text; the message is for the contributor."""


class LineTooLong(LineRefused):
    """A physical line is longer than the limit. ``head`` holds its first bytes (bounded)."""

    def __init__(self, *, line: int, offset: int, limit: int, head: bytes) -> None:
        self.line = line
        self.offset = offset
        self.limit = limit
        self.head = head
        super().__init__(
            f"line {line} (from byte offset {offset}) is longer than {human_size(limit)}; "
            "lines that long are refused rather than read into memory"
        )


class NotUtf8(LineRefused):
    """A line holds a byte sequence that is not UTF-8. The message names offset and line."""


class NulByte(LineRefused):
    """A line holds a NUL byte, which text never has: the file is binary."""


class LineReader:
    """Iterator over the decoded physical lines of ``stream`` (terminators kept).

    ``line_no`` is the 1-based number of the line last returned and ``offset`` the byte offset
    just past it; ``line_offset`` is where that line started. Raises ``LineTooLong`` or
    ``NotUtf8`` from ``__next__``; both carry a message for the contributor.
    """

    def __init__(self, stream: BinaryIO, *, max_line_bytes: int) -> None:
        self._stream = stream
        self._max = max_line_bytes
        self.line_no = 0
        self.offset = 0
        self.line_offset = 0
        self.encoding = "utf-8"
        self._seen_non_ascii = False

    def __iter__(self) -> LineReader:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(self._max + 1)
        if not raw:
            raise StopIteration
        if len(raw) > self._max:
            raise LineTooLong(line=self.line_no + 1, offset=self.offset, limit=self._max, head=raw)
        self.line_no += 1
        self.line_offset = start = self.offset
        self.offset += len(raw)
        if self.line_no == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
            start += len(UTF8_BOM)
            self.encoding = "utf-8-sig"
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise NulByte(
                f"the file has a NUL byte at offset {start + nul} (line {self.line_no}); "
                "text never has one, so this is binary data"
            )
        if raw.isascii():
            return raw.decode("ascii")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotUtf8(
                not_utf8_message(
                    offset=start + exc.start,
                    line=self.line_no,
                    bad_byte=raw[exc.start],
                    window=window_around(raw, exc.start),
                    mixed=self._seen_non_ascii or not raw[: exc.start].isascii(),
                )
            ) from None
        self._seen_non_ascii = True
        return text


def opened(source: Path | BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
    """A context giving a binary stream: ``source`` opened if a path, else left open as is."""
    if isinstance(source, Path):
        return source.open("rb")
    return contextlib.nullcontext(source)
