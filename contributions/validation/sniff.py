"""What a file is, decided by its content: magic bytes, then text structure. Never by its name.

Pure: no Django imports. ``sniff`` reads at most ``BINARY_PREFIX_BYTES`` for the magic-byte
check and at most ``TEXT_SAMPLE_BYTES`` to classify text, whatever the file's size.

Text can fit several types at once: a CSV is also plain text, a one-line JSON object is both
JSON and JSON Lines. ``Sniffed.media_type`` is the single most specific type and
``Sniffed.acceptable`` every type the content can honestly be taken as:

* ``application/x-ndjson``: every non-blank line (of the sample) is a JSON value; or the first
  is a JSON object/array and at most one line in five fails to parse, so that a broken line is
  reported by the validator with its line number rather than hiding what the file is. Primary
  when the first line is an object or array and the text is not one JSON document.
* ``application/json``: the text is one JSON document (primary when an object or array). For a
  file larger than the sample this is judged on its first character and is confirmed later.
* ``text/csv``: the best delimiter (``dialect.detect_delimiter``) splits at least 80 % of the
  sampled records into the header's field count, or no delimiter occurs at all (a one-column
  CSV is a list of lines). Primary when all sampled records agree and there are at least two.
* ``text/plain``: any text; the fallback primary type.

HTML (and SVG/XML) near the start of text makes the file that type and nothing else, so a
``page.csv`` that is really a web page is refused under its true name. Text in UTF-16/32 and
known non-text formats (archives, executables) are named so the refusal can say what they are.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .dialect import DELIMITERS, detect_delimiter
from .encoding import UTF8_BOM, guess_encoding, not_utf8_message, window_around
from .jsontext import JsonRefused, loads_guarded, nesting_exceeds

BINARY_PREFIX_BYTES = 4096
TEXT_SAMPLE_BYTES = 64 * 1024
# HTML markers count only this close to the start of text (after leading whitespace).
HTML_WINDOW_CHARS = 1024
# More control characters or undecodable bytes than this share makes a sample binary.
BINARY_SHARE = 0.10
# A CSV may have this share of ragged rows in the sample and still be taken as CSV.
CSV_MIN_SCORE = 0.8

TEXT_TYPES = ("text/plain", "text/csv", "application/json", "application/x-ndjson")


@dataclass(frozen=True)
class Sniffed:
    """What ``sniff`` found. ``media_type`` is None when the content is not recognised.

    ``detail`` describes the content for people ("PNG image", "zip archive", "CSV text,
    delimiter ';'"). ``acceptable`` holds every type the content fits (see the module doc);
    ``encoding`` is "utf-8" or "utf-8-sig" for text that decodes, None otherwise.
    ``not_utf8`` words the refusal of text whose sample is not UTF-8 (the first bad byte, its
    line, the likely encoding), None when the sample decodes.
    """

    media_type: str | None
    detail: str
    acceptable: frozenset[str] = field(default_factory=frozenset)
    encoding: str | None = None
    not_utf8: str | None = None

    def describe(self) -> str:
        """The content as a refusal message should name it: ``text/html (HTML document)``."""
        return f"{self.media_type} ({self.detail})" if self.media_type else self.detail


def sniff(path: Path) -> Sniffed:
    """Return what ``path`` holds, judged by content alone (bounded reads)."""
    with path.open("rb") as stream:
        head = stream.read(TEXT_SAMPLE_BYTES + 1)
    at_eof = len(head) <= TEXT_SAMPLE_BYTES
    head = head[:TEXT_SAMPLE_BYTES]
    if not head:
        return Sniffed(None, "an empty file")
    binary = _sniff_binary(head[:BINARY_PREFIX_BYTES])
    if binary is not None:
        return binary
    return _sniff_text(head, at_eof=at_eof)


def acceptable_types(path: Path) -> set[str]:
    """Every media type the content of ``path`` can be taken as (see the module doc)."""
    return set(sniff(path).acceptable)


# --- binary formats ----------------------------------------------------------------------------

# (prefix, media type, description). Order matters: UTF-32 LE's BOM starts with UTF-16 LE's.
_MAGIC: tuple[tuple[bytes, str | None, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
    (b"GIF87a", "image/gif", "GIF image"),
    (b"GIF89a", "image/gif", "GIF image"),
    (b"%PDF-", "application/pdf", "PDF document"),
    (b"PK\x03\x04", "application/zip", "zip archive (also .docx, .xlsx, .jar)"),
    (b"PK\x05\x06", "application/zip", "zip archive (empty)"),
    (b"PK\x07\x08", "application/zip", "zip archive (spanned)"),
    (b"\x1f\x8b", "application/gzip", "gzip-compressed data"),
    (b"BZh", "application/x-bzip2", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "application/x-xz", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", "7-Zip archive"),
    (b"Rar!\x1a\x07", "application/vnd.rar", "RAR archive"),
    (b"\x7fELF", "application/x-executable", "ELF executable"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary", "Mach-O or Java class file"),
    (b"\x00asm", "application/wasm", "WebAssembly module"),
    (b"II*\x00", "image/tiff", "TIFF image"),
    (b"MM\x00*", "image/tiff", "TIFF image"),
    (b"\x00\x00\xfe\xff", None, "UTF-32 text (only UTF-8 text is accepted)"),
    (b"\xff\xfe\x00\x00", None, "UTF-32 text (only UTF-8 text is accepted)"),
    (b"\xfe\xff", None, "UTF-16 text (only UTF-8 text is accepted)"),
    (b"\xff\xfe", None, "UTF-16 text (only UTF-8 text is accepted)"),
)


def _sniff_binary(head: bytes) -> Sniffed | None:
    for magic, media_type, detail in _MAGIC:
        if head.startswith(magic):
            return Sniffed(media_type, detail, frozenset({media_type} if media_type else ()))
    if head[:4] == b"RIFF" and len(head) >= 12:
        fourcc = head[8:12]
        if fourcc == b"WEBP":
            return Sniffed("image/webp", "WebP image", frozenset({"image/webp"}))
        riff = {b"WAVE": ("audio/wav", "WAV audio"), b"AVI ": ("video/x-msvideo", "AVI video")}
        media_type, detail = riff.get(fourcc, ("application/octet-stream", "RIFF container"))
        return Sniffed(media_type, detail, frozenset({media_type}))
    if head[257:262] == b"ustar":
        return Sniffed("application/x-tar", "tar archive", frozenset({"application/x-tar"}))
    if head[:2] == b"MZ" and _is_dos_executable(head):
        pe = "application/vnd.microsoft.portable-executable"
        return Sniffed(pe, "Windows/DOS executable (MZ)", frozenset({pe}))
    return None


def _is_dos_executable(head: bytes) -> bool:
    # Text may begin with "MZ"; an executable's 64-byte DOS header has NUL bytes, which UTF-8
    # text never has, and usually points at a "PE\0\0" signature.
    if len(head) >= 64:
        pe_offset = int.from_bytes(head[60:64], "little")
        if head[pe_offset : pe_offset + 4] == b"PE\x00\x00":
            return True
    return b"\x00" in head[:64]


# --- text --------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_MARKUP = (
    (re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]"), "text/html"),
    (re.compile(r"<script[\s>/]|<iframe[\s>/]"), "text/html"),
    (re.compile(r"<svg[\s>/]"), "image/svg+xml"),
    (re.compile(r"<\?php"), "application/x-httpd-php"),
    (re.compile(r"<\?xml[\s?]"), "application/xml"),
)
_MARKUP_DETAIL = {
    "text/html": "HTML document",
    "image/svg+xml": "SVG image, which can carry scripts",
    "application/x-httpd-php": "PHP script",
    "application/xml": "XML document",
}


def _sniff_text(head: bytes, *, at_eof: bool) -> Sniffed:
    encoding = "utf-8"
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
        encoding = "utf-8-sig"
    if b"\x00" in head:
        return Sniffed(None, "unrecognised binary data (it has NUL bytes)")
    if not at_eof and b"\n" in head:
        # Whole lines only, so the last record is not judged cut short.
        head = head[: head.rindex(b"\n") + 1]
    text, strict = _decode(head, final=at_eof)
    skipped = len(UTF8_BOM) if encoding == "utf-8-sig" else 0
    not_utf8 = None if strict else _not_utf8(head, final=at_eof, skipped=skipped)
    if text and _control_share(text, legacy_text=not_utf8 is not None) > BINARY_SHARE:
        return Sniffed(None, "unrecognised binary data")
    note = "" if strict else ", not valid UTF-8"
    if not text.strip():
        blank = Sniffed("text/plain", f"blank text{note}", frozenset({"text/plain"}), encoding)
        return replace(blank, not_utf8=not_utf8)
    start = text[:HTML_WINDOW_CHARS].lstrip().lower()
    for pattern, media_type in _MARKUP:
        if pattern.search(start):
            return Sniffed(media_type, _MARKUP_DETAIL[media_type], frozenset({media_type}))
    found = _classify_structure(text, at_eof=at_eof, note=note, encoding=encoding)
    return replace(found, not_utf8=not_utf8)


def _control_share(text: str, *, legacy_text: bool) -> float:
    """The share of control characters; text in another encoding (a Latin-1 or Cyrillic
    spreadsheet export) has many undecodable bytes, which are then not counted: such a file is
    text in the wrong encoding, and is refused under that name rather than as binary data."""
    controls = _CONTROL.findall(text)
    if legacy_text:
        controls = [c for c in controls if c != "\ufffd"]
    return len(controls) / len(text)


def _not_utf8(head: bytes, *, final: bool, skipped: int) -> str | None:
    """The refusal of a sample that is not UTF-8, naming the byte and the likely encoding; None
    when no common encoding reads the bytes (binary data, judged as such by the caller)."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final)
        return None
    except UnicodeDecodeError as exc:
        bad = exc.start
    window = window_around(head, bad)
    if guess_encoding(window) is None:
        return None
    return not_utf8_message(
        offset=skipped + bad,
        line=head.count(b"\n", 0, bad) + 1,
        bad_byte=head[bad],
        window=window,
        mixed=not head[:bad].isascii(),
    )


def _decode(data: bytes, *, final: bool) -> tuple[str, bool]:
    """Decode leniently (classification must survive a bad byte); report if it was strict."""
    try:
        return codecs.getincrementaldecoder("utf-8")("strict").decode(data, final), True
    except UnicodeDecodeError:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        return decoder.decode(data, final), False


def _classify_structure(text: str, *, at_eof: bool, note: str, encoding: str) -> Sniffed:
    acceptable = {"text/plain"}
    stripped = text.strip()
    json_doc = _json_kind(stripped) if at_eof else None
    if json_doc is not None:
        acceptable.add("application/json")
    jsonl = _jsonl_kind(text, at_eof=at_eof)
    if jsonl is not None:
        acceptable.add("application/x-ndjson")
    if json_doc == "structured":
        return Sniffed("application/json", f"JSON document{note}", frozenset(acceptable), encoding)
    if jsonl == "structured":
        detail = f"JSON Lines, one value per line{note}"
        return Sniffed("application/x-ndjson", detail, frozenset(acceptable), encoding)
    if not at_eof and stripped[0] in "{[":
        acceptable.add("application/json")
        detail = f"JSON document, judged on its first {TEXT_SAMPLE_BYTES // 1024} KiB{note}"
        return Sniffed("application/json", detail, frozenset(acceptable), encoding)
    guess = detect_delimiter(text, complete=at_eof)
    if guess.delimiter is not None and guess.score >= CSV_MIN_SCORE:
        acceptable.add("text/csv")
        if guess.consistent and guess.records >= 2:
            detail = f"CSV text, delimiter {guess.delimiter!r}{note}"
            return Sniffed("text/csv", detail, frozenset(acceptable), encoding)
    elif not any(d in text for d in DELIMITERS):
        acceptable.add("text/csv")
    return Sniffed("text/plain", f"plain text{note}", frozenset(acceptable), encoding)


def _jsonl_kind(text: str, *, at_eof: bool) -> str | None:
    """'structured' or 'scalar' when ``text`` is JSON Lines (see the module doc), else None."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not at_eof and len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines.pop()
    if not lines:
        return None
    first = _json_kind(lines[0])
    failures = 0
    if first is None:
        if lines[0][0] not in "{[":
            return None
        # Shaped like a JSON object or array but broken: JSON Lines with a bad first line, so
        # that the validator names line 1 instead of the file being judged as CSV.
        first, failures = "structured", 1
    # Scalar lines must all parse (else any list of words would do); structured ones may have
    # a few broken lines for the validator to report.
    allowed_failures = 0 if first == "scalar" else max(failures, len(lines) // 5)
    if failures > allowed_failures:
        return None
    for line in lines[1:]:
        if _json_kind(line) is None:
            failures += 1
            if failures > allowed_failures:
                return None
    return first


def _json_kind(text: str) -> str | None:
    """'structured' (object/array), 'scalar', or None when ``text`` is not one JSON value."""
    if not text:
        return None
    if nesting_exceeds(text):
        # Too deep to parse safely here; shaped like JSON, so let the validator name the depth.
        return "structured" if text[0] in "{[" and text[-1] in "}]" else None
    try:
        value = loads_guarded(text)
    except JsonRefused:
        return None
    return "structured" if isinstance(value, dict | list) else "scalar"
