"""Plain-text files: UTF-8 only, no NUL bytes, not blank, plus simple quality metrics.

Pure: no Django imports. The file is decoded in ``CHUNK_BYTES`` pieces with an incremental
decoder, so memory is bounded whatever its size. The metrics are for quality scoring, not for
acceptance:

* ``printable_ratio``: share of characters that are not control or format characters
  (tab, newline and carriage return count as printable);
* ``letter_ratio``: share of characters that are letters (any script);
* ``avg_word_length``: mean length of words, a word being a run of letters, digits or ``_``.
  Words longer than ``MAX_WORD_CHARS`` (no spaces for pages) are counted in pieces.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .base import ValidationFailed
from .encoding import GUESS_WINDOW_BYTES, UTF8_BOM, not_utf8_message, window_around

CHUNK_BYTES = 64 * 1024
MAX_WORD_CHARS = 4096
_NOT_PRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb]"
)
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"\w+")
_TRAILING_WORD = re.compile(r"\w+\Z")


@dataclass(frozen=True)
class TextReport:
    """Size and quality metrics of an accepted text file (ratios rounded to 4 places)."""

    encoding: str
    bytes: int
    chars: int
    lines: int
    words: int
    printable_ratio: float
    letter_ratio: float
    avg_word_length: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_text(path: Path) -> TextReport:
    """Return the metrics of the UTF-8 text file at ``path`` or raise ``ValidationFailed``.

    Refused: bytes that are not UTF-8 (the message names offset, line and likely encoding),
    NUL bytes, and files with no visible character.
    """
    counts = _Counts()
    with path.open("rb") as stream:
        first = stream.read(CHUNK_BYTES)
        encoding = "utf-8-sig" if first.startswith(UTF8_BOM) else "utf-8"
        chunk = first[len(UTF8_BOM) :] if encoding == "utf-8-sig" else first
        offset = len(first) - len(chunk)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        previous = b""
        while chunk:
            _decode_chunk(decoder, chunk, offset, counts, previous=previous)
            offset += len(chunk)
            previous, chunk = chunk, stream.read(CHUNK_BYTES)
        _decode_chunk(decoder, b"", offset, counts, previous=previous, final=True)
    counts.flush()
    if counts.visible == 0:
        raise ValidationFailed(["the text file is empty or blank"])
    chars = max(counts.chars, 1)
    return TextReport(
        encoding=encoding,
        bytes=offset,
        chars=counts.chars,
        lines=counts.newlines + (0 if counts.ends_with_newline else 1),
        words=counts.words,
        printable_ratio=round(1 - counts.not_printable / chars, 4),
        letter_ratio=round(counts.letters / chars, 4),
        avg_word_length=round(counts.word_chars / counts.words, 4) if counts.words else 0.0,
    )


class _Counts:
    def __init__(self) -> None:
        self.chars = self.not_printable = self.letters = self.visible = 0
        self.words = self.word_chars = self.newlines = 0
        self.ends_with_newline = False
        self.seen_non_ascii = False
        self.carry = ""

    def add(self, text: str) -> None:
        if not text:
            return
        self.chars += len(text)
        self.newlines += text.count("\n")
        self.ends_with_newline = text.endswith("\n")
        self.not_printable += len(_NOT_PRINTABLE.findall(text))
        self.letters += len(_LETTER.findall(text))
        if not self.visible and not text.isspace():
            self.visible = 1
        # A word may straddle two chunks: hold its start back until the next chunk.
        text = self.carry + text
        tail = _TRAILING_WORD.search(text)
        cut = tail.start() if tail and len(tail.group()) < MAX_WORD_CHARS else len(text)
        self.carry = text[cut:]
        self._count_words(text[:cut])

    def flush(self) -> None:
        self._count_words(self.carry)
        self.carry = ""

    def _count_words(self, text: str) -> None:
        for word in _WORD.findall(text):
            self.words += 1
            self.word_chars += len(word)


def _decode_chunk(
    decoder: codecs.IncrementalDecoder,
    chunk: bytes,
    offset: int,
    counts: _Counts,
    *,
    previous: bytes,
    final: bool = False,
) -> None:
    nul = chunk.find(b"\x00")
    if nul >= 0:
        line = counts.newlines + chunk[:nul].count(b"\n") + 1
        raise ValidationFailed(
            [f"the file has a NUL byte at offset {offset + nul} (line {line}); it is not text"]
        )
    pending = len(decoder.getstate()[0])
    try:
        text = decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        # exc.start counts from the bytes the decoder held back from the previous chunk.
        at = exc.start - pending
        line = counts.newlines + chunk[: max(at, 0)].count(b"\n") + 1
        bad = exc.object[exc.start]
        mixed = counts.seen_non_ascii or not chunk[: max(at, 0)].isascii()
        # The bad byte may sit at the very end of the previous chunk: look at both.
        context = previous[-GUESS_WINDOW_BYTES // 2 :] + chunk
        window = window_around(context, len(context) - len(chunk) + at)
        message = not_utf8_message(
            offset=offset + at, line=line, bad_byte=bad, window=window, mixed=mixed
        )
        raise ValidationFailed([message]) from None
    if not counts.seen_non_ascii and not text.isascii():
        counts.seen_non_ascii = True
    counts.add(text)
