"""PDF files: a structural check of header and trailer, and refusal of active content.

Pure: no Django imports. This is not a PDF parser: it checks that the file starts with
``%PDF-x.y``, that the last ``TAIL_BYTES`` hold ``startxref`` and ``%%EOF``, that nothing but
whitespace follows the final ``%%EOF`` (bytes appended after a PDF are how PDF polyglots are
built), and that no JavaScript, launch action or embedded file is named. Names obfuscated
with ``#xx`` escapes are not decoded, so the active-content check is a filter, not a proof.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import Any

from .base import ValidationFailed

# Readers look for the trailer in the last 1024 bytes; so does this check.
TAIL_BYTES = 1024
_HEADER = re.compile(rb"%PDF-(\d\.\d)")
_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?)(?=[\s/<>\[\]()%]|$)")
_ACTIVE_NAMES = {
    b"JavaScript": "JavaScript",
    b"JS": "JavaScript",
    b"Launch": "a launch action (runs a program)",
    b"EmbeddedFile": "an embedded file",
    b"EmbeddedFiles": "embedded files",
}


def check_pdf(path: Path) -> dict[str, Any]:
    """Return ``{"version": "1.7"}`` for an acceptable PDF, else raise ``ValidationFailed``."""
    if path.stat().st_size == 0:
        raise ValidationFailed(["the file is empty"])
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        header = _HEADER.match(mm)
        if header is None:
            raise ValidationFailed(["the file does not start with a PDF header (%PDF-1.x)"])
        version = header.group(1).decode("ascii")
        reasons = _trailer_problems(bytes(mm[-TAIL_BYTES:]))
        active = _ACTIVE.search(mm)
        if active is not None:
            reasons.append(
                f"the PDF contains {_ACTIVE_NAMES[active.group(1)]} (at offset "
                f"{active.start()}); PDFs with active content are refused"
            )
    if reasons:
        raise ValidationFailed(reasons)
    return {"version": version}


def _trailer_problems(tail: bytes) -> list[str]:
    end = tail.rfind(b"%%EOF")
    if end < 0:
        return ["the PDF has no %%EOF marker at its end: it is truncated or not a PDF"]
    problems = []
    if b"startxref" not in tail[:end]:
        problems.append("the PDF has no startxref before its final %%EOF: it is damaged")
    after = tail[end + len(b"%%EOF") :]
    if after.strip(b" \t\r\n\f\x00"):
        problems.append(
            f"the file has {len(after)} bytes after the end of the PDF (%%EOF); "
            "files that hide other content after a document are refused"
        )
    return problems
