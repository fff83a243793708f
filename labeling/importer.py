"""Streaming parser for bulk item imports (CSV or JSONL). Pure: no Django imports.

Rows are yielded in batches with the byte position reached, so a worker can store each batch
with its progress and never holds the whole file in memory.

* CSV: a header row; ``id`` (optional) names the item, ``gold`` (optional) its known answer
  (``|`` between labels for multi-choice); for text items a ``text`` column, for images a
  ``cid`` column; for rows every other column is the item.
* JSONL: one object per line with the same keys; a row item may sit under ``data``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

MAX_KEY = 150
MAX_CELL = 20_000


@dataclass(frozen=True)
class ImportedItem:
    line: int
    key: str
    payload: dict[str, Any]
    gold: list[str] | None


class _Counting(io.RawIOBase):
    """Counts bytes read so progress is known while the text layer parses."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def _item(kind: str, line: int, record: dict[str, Any]) -> ImportedItem:
    key = str(record.pop("id", "") or "").strip()
    if len(key) > MAX_KEY:
        raise ValueError(f"id is longer than {MAX_KEY} characters")
    gold_raw = record.pop("gold", None)
    gold: list[str] | None
    if gold_raw in (None, ""):
        gold = None
    elif isinstance(gold_raw, list):
        gold = [str(g) for g in gold_raw]
    else:
        gold = [g for g in str(gold_raw).split("|") if g]
    if kind == "text":
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a text item needs a non-empty 'text'")
        payload: dict[str, Any] = {"text": text[:MAX_CELL]}
    elif kind == "image":
        cid = record.get("cid")
        if not isinstance(cid, str) or not cid.strip():
            raise ValueError("an image item needs a 'cid'")
        from ipfs.cid import Cid

        try:
            canonical = str(Cid.parse(cid.strip()))
        except ValueError as exc:
            raise ValueError(f"'cid' is not a CID: {exc}") from exc
        payload = {"cid": canonical}
    else:
        data = record.get("data", record) if isinstance(record.get("data"), dict) else record
        if not data:
            raise ValueError("the row has no values")
        payload = {
            str(k)[:200]: (v[:MAX_CELL] if isinstance(v, str) else v) for k, v in data.items()
        }
    return ImportedItem(line=line, key=f"id:{key}" if key else "", payload=payload, gold=gold)


def iter_batches(
    raw: BinaryIO, *, fmt: str, kind: str, batch: int = 2000
) -> Iterator[tuple[list[ImportedItem], list[str], int]]:
    """Yield ``(items, errors, bytes_read)`` per batch. Errors name the line and problem."""
    counter = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
    items: list[ImportedItem] = []
    bad: list[str] = []
    for line, record, error in _records(text, fmt):
        if error is None:
            try:
                items.append(_item(kind, line, record))
            except ValueError as exc:
                error = str(exc)
        if error is not None:
            bad.append(f"line {line}: {error}")
        if len(items) + len(bad) >= batch:
            yield items, bad, counter.count
            items, bad = [], []
    yield items, bad, counter.count


def _records(text: io.TextIOWrapper, fmt: str) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    if fmt == "jsonl":
        for n, raw_line in enumerate(text, start=1):
            if not raw_line.strip():
                continue
            try:
                record = json.loads(raw_line)
            except json.JSONDecodeError as exc:
                yield n, {}, f"not valid JSON ({exc.msg})"
                continue
            if not isinstance(record, dict):
                yield n, {}, "each line must be a JSON object"
                continue
            yield n, record, None
        return
    reader = csv.DictReader(text)
    if not reader.fieldnames:
        raise ValueError("the CSV file has no header row")
    for record in reader:
        if None in record:
            yield reader.line_num, {}, "more cells than header columns"
            continue
        yield reader.line_num, dict(record), None
