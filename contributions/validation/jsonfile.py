"""JSON and JSON Lines files uploaded as files (no schema): are they well-formed?

Pure: no Django imports. A JSON document is parsed whole, so it is bounded by
``MAX_JSON_DOCUMENT_BYTES``; larger data should come as JSON Lines, which is checked one bounded
line at a time in constant memory.
"""

from __future__ import annotations

from pathlib import Path

from .base import ValidationFailed, human_size
from .jsontext import JsonRefused, loads_guarded
from .lines import LineReader, LineRefused

MAX_JSON_DOCUMENT_BYTES = 32 * 1024 * 1024
MAX_JSON_LINE_BYTES = 1024 * 1024


def check_json_document(path: Path) -> None:
    """Raise ``ValidationFailed`` unless ``path`` holds exactly one well-formed JSON value.

    Expects UTF-8 already checked (``text.check_text``); refuses documents over
    ``MAX_JSON_DOCUMENT_BYTES`` and nesting deeper than ``jsontext.MAX_JSON_DEPTH``.
    """
    size = path.stat().st_size
    if size > MAX_JSON_DOCUMENT_BYTES:
        raise ValidationFailed(
            [
                f"JSON documents are accepted up to {human_size(MAX_JSON_DOCUMENT_BYTES)} "
                f"(this one is {human_size(size)}); upload large data as JSON Lines"
            ]
        )
    text = path.read_bytes().decode("utf-8-sig", "replace")
    try:
        loads_guarded(text)
    except JsonRefused as exc:
        raise ValidationFailed([f"the JSON document is refused: {exc}"]) from None


def check_json_lines(path: Path) -> None:
    """Raise ``ValidationFailed`` unless every non-blank line of ``path`` is one JSON value.

    Reports the first ten bad lines by number; stops at an encoding problem or an over-long line.
    """
    reasons: list[str] = []
    with path.open("rb") as stream:
        lines = LineReader(stream, max_line_bytes=MAX_JSON_LINE_BYTES)
        try:
            for text in lines:
                if not text.strip():
                    continue
                try:
                    loads_guarded(text)
                except JsonRefused as exc:
                    reasons.append(f"line {lines.line_no}: {exc}")
                    if len(reasons) >= 10:
                        break
        except LineRefused as exc:
            reasons.append(str(exc))
    if reasons:
        raise ValidationFailed(reasons)
