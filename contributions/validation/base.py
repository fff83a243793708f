"""Shared types of the validation package: the refusal exception and the overall result.

Pure: no Django imports. Every message in ``reasons`` is written for the contributor who
uploaded the file, so it says what is wrong and, where it can, where and what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Values quoted in messages are cut to this many characters so that a 1 MB cell cannot turn
# a refusal message into a 1 MB message.
VALUE_PREVIEW_CHARS = 80


class ValidationFailed(Exception):
    """A file was refused. ``reasons`` holds every problem found, each readable on its own."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one uploaded file.

    ``accepted`` is true exactly when ``reasons`` is empty. ``report`` holds JSON-serializable
    details (the tabular report, image dimensions, text metrics) and is deterministic: the same
    bytes and schema always give an equal result.
    """

    accepted: bool
    media_type: str | None
    reasons: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "media_type": self.media_type,
            "reasons": list(self.reasons),
            "report": self.report,
        }


def preview(value: object, limit: int = VALUE_PREVIEW_CHARS) -> str:
    """Return ``value`` as text of at most ``limit`` characters (marked with … when cut)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_size(size: int) -> str:
    """Return a byte count as people write it: ``512 bytes``, ``1.5 KiB``, ``100.0 MiB``."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"
