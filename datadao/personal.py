"""Everything the platform holds about one person, as one archive (``GET /api/me/export.zip``).

Each app registers a ``Part`` in its ``AppConfig.ready()`` (contributions, labels, rewards,
grants…), so this module imports none of them. The archive is a ZIP written as it is sent:
nothing of it is kept on this server, and a sealed file's plaintext exists only in the
stream to its owner.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# ``files(user)`` yields (path in the archive, chunks of bytes).
Files = Callable[[Any], Iterator[tuple[str, Iterable[bytes]]]]


@dataclass(frozen=True)
class Part:
    name: str
    files: Files
    # One line for README.txt: what this part holds.
    describes: str


_PARTS: dict[str, Part] = {}


def register(part: Part) -> None:
    _PARTS[part.name] = part


def json_file(value: Any) -> list[bytes]:
    """A JSON document as archive content: indented, UTF-8, amounts and dates as strings."""
    return [json.dumps(value, indent=2, ensure_ascii=False, default=str).encode() + b"\n"]


class _Sink:
    """A write-only stream ZipFile writes to (it then adds data descriptors, needing no seek);
    what was written is taken out with ``drain``."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, []
        yield from chunks


def _readme(user: Any) -> list[bytes]:
    lines = [
        f"Everything datadao holds about {user.address}, exported "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}.",
        "",
        *(f"{part.name}/: {part.describes}" for part in _PARTS.values()),
        "",
    ]
    return ["\n".join(lines).encode()]


def _entries(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield "README.txt", _readme(user)
    for part in _PARTS.values():
        for path, chunks in part.files(user):
            yield f"{part.name}/{path}", chunks


def archive(user: Any) -> Iterator[bytes]:
    """The ZIP, chunk by chunk. Each entry's chunks are read while it is written (a part may
    yield a file that is open only until it asks for the next entry)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        for name, chunks in _entries(user):
            with zf.open(name, mode="w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()
