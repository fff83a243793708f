"""Streaming parser for bulk item imports (CSV or JSONL). Pure: no Django imports.

Rows are yielded in batches with the byte position reached, so a worker can store each batch
with its progress and never holds the whole file in memory.

* CSV: a header row; ``id`` (optional) names the item, ``gold`` (optional) its known answer
  (``|`` between labels for multi-choice); for text items a ``text`` column, for images a
  ``cid`` column; for rows every other column is the item.
* JSONL: one object per line with the same keys; a row item may sit under ``data``.

The task types beyond classification (``task``):

* boxes: image items (``cid``, and ``width`` and ``height`` in pixels where known);
* spans: text items (``text``);
* pairwise: ``prompt`` (optional) and two candidates, each an id and a text: in CSV the
  columns ``left_id``, ``left``, ``right_id``, ``right``; in JSONL either the same keys or
  ``"left": {"id", "text"}``. A candidate's id names it across items, so every candidate can
  be ranked;
* text: image or audio items (``cid``, optional ``media_type``).

Their gold answers are in the type's shape (``labeling.answers``): JSON in a CSV cell for
boxes and spans, ``left``/``right``/``tie`` for pairwise, the transcription for text. They are
checked against the item when the batch is stored (``services.items``).
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


MAX_CANDIDATE_ID = 200


@dataclass(frozen=True)
class ImportedItem:
    line: int
    key: str
    payload: dict[str, Any]
    # Label names (classification), else the type's raw gold answer, checked when stored.
    gold: Any


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


def _typed_gold(task: str, raw: Any) -> Any:
    """A typed gold answer as given: boxes and spans are JSON (a CSV cell holds its text)."""
    if raw in (None, ""):
        return None
    if task in ("boxes", "spans") and isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"gold: not valid JSON ({exc.msg})") from None
    return raw


def _size(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"'{key}' must be a whole number of pixels") from None
    if isinstance(value, bool) or not 0 < number <= 1_000_000:
        raise ValueError(f"'{key}' must be a whole number of pixels from 1 to 1000000")
    return number


def _candidate(record: dict[str, Any], side: str) -> dict[str, str]:
    value = record.get(side)
    if isinstance(value, dict):
        ident, text = value.get("id"), value.get("text")
    else:
        ident, text = record.get(f"{side}_id"), value
    if ident in (None, "") or not str(ident).strip():
        raise ValueError(f"the {side} candidate needs an id ('{side}_id')")
    ident = str(ident).strip()
    if len(ident) > MAX_CANDIDATE_ID:
        raise ValueError(f"{side}_id is longer than {MAX_CANDIDATE_ID} characters")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the {side} candidate needs a non-empty text ('{side}')")
    return {"id": ident, "text": text[:MAX_CELL]}


def _cid(record: dict[str, Any], what: str) -> str:
    cid = record.get("cid")
    if not isinstance(cid, str) or not cid.strip():
        raise ValueError(f"{what} item needs a 'cid'")
    from ipfs.cid import Cid

    try:
        return str(Cid.parse(cid.strip()))
    except ValueError as exc:
        raise ValueError(f"'cid' is not a CID: {exc}") from exc


def _item(
    kind: str, line: int, record: dict[str, Any], task: str = "classification"
) -> ImportedItem:
    key = str(record.pop("id", "") or "").strip()
    if len(key) > MAX_KEY:
        raise ValueError(f"id is longer than {MAX_KEY} characters")
    gold_raw = record.pop("gold", None)
    gold: Any
    if task != "classification":
        gold = _typed_gold(task, gold_raw)
    elif gold_raw in (None, ""):
        gold = None
    elif isinstance(gold_raw, list):
        gold = [str(g) for g in gold_raw]
    else:
        gold = [g for g in str(gold_raw).split("|") if g]
    if kind == "pair":
        prompt = record.get("prompt") or ""
        if not isinstance(prompt, str):
            raise ValueError("'prompt' must be a text")
        left, right = _candidate(record, "left"), _candidate(record, "right")
        if left["id"] == right["id"]:
            raise ValueError(f"the left and right candidates are both {left['id']!r}")
        payload: dict[str, Any] = {"prompt": prompt[:MAX_CELL], "left": left, "right": right}
    elif kind == "audio" or (kind == "image" and task != "classification"):
        payload = {"cid": _cid(record, "an audio" if kind == "audio" else "an image")}
        media = record.get("media_type")
        if isinstance(media, str) and media.strip():
            payload["media_type"] = media.strip()[:100]
        if kind == "image":
            width, height = _size(record, "width"), _size(record, "height")
            if (width is None) != (height is None):
                raise ValueError("give both 'width' and 'height', or neither")
            if width is not None:
                payload["width"], payload["height"] = width, height
    elif kind == "text":
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a text item needs a non-empty 'text'")
        payload = {"text": text[:MAX_CELL]}
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
    raw: BinaryIO, *, fmt: str, kind: str, batch: int = 2000, task: str = "classification"
) -> Iterator[tuple[list[ImportedItem], list[str], int]]:
    """Yield ``(items, errors, bytes_read)`` per batch. Errors name the line and problem."""
    counter = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
    items: list[ImportedItem] = []
    bad: list[str] = []
    for line, record, error in _records(text, fmt):
        if error is None:
            try:
                items.append(_item(kind, line, record, task))
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
