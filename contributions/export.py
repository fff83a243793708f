"""The merged data of a release: one CSV and one Parquet file from many validated tabular files.

Pure: no Django imports. Every function streams: rows are read one at a time from each file
and written in bounded batches, so memory does not grow with the dataset.

Values are the validator's canonical values (``validation.cells``), so the export means the
same thing as the rows that were hashed and scored: booleans are true/false whatever the file
said, date-times are ISO 8601 in UTC, strings are stripped and NFC-normalized. Only the type
of a column is applied here, not its bounds, so a file validated under an older schema still
exports. A cell that no longer fits its column's type (the schema changed after the file was
validated) keeps its raw text instead of being dropped.

Inputs are assumed to be validated (UTF-8, optionally with a BOM; CSV with a header, JSON
Lines with one object per line); rows that are not objects are skipped and counted.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from contributions.validation.cells import (
    ColumnRule,
    check_csv_cell,
    check_json_cell,
    compile_columns,
)
from contributions.validation.dialect import detect_delimiter
from contributions.validation.report import TabularLimits
from datadao.sealing import DataKey, decrypt_stream

CSV_TYPE, JSONL_TYPE = "text/csv", "application/x-ndjson"
# OWASP "CSV Injection": a spreadsheet evaluates a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_CHUNK_CHARS = 64 * 1024
DELIMITER_SAMPLE_BYTES = 64 * 1024
# A Parquet row group holds at most this many cells (and ROW_GROUP_ROWS rows): bounded memory
# whatever the width of the schema.
ROW_GROUP_ROWS = 50_000
ROW_GROUP_CELLS = 2_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "category": pa.string(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def escape_formula(value: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


class StoredFile(Protocol):
    """A file kept elsewhere than this disk (``datadao.blobs.Blob``), read like a ``Path``."""

    name: str

    def open(self, mode: str) -> BinaryIO: ...

    def exists(self) -> bool: ...


@dataclass(frozen=True)
class TabularSource:
    """One accepted tabular file and where it came from.

    ``delimiter`` is the one validation detected (``report["validation"]["tabular"]
    ["delimiter"]``); when None it is detected again the same way.
    """

    path: Path | StoredFile
    media_type: str
    contribution: int
    contributor: str
    delimiter: str | None = None
    # The data key of a sealed file (``contributions.sealed``), unwrapped by the caller; the
    # plaintext is then read from an unlinked temporary file.
    key: DataKey | None = None
    # Where that plaintext is decrypted to (an unlinked file): a private folder on the data
    # volume rather than the system's temporary folder.
    scratch: str | None = None

    def open(self) -> BinaryIO:
        """The plaintext bytes, from the start."""
        if self.key is None:
            return self.path.open("rb")
        plain = tempfile.TemporaryFile(dir=self.scratch)  # noqa: SIM115 (returned to the caller)
        try:
            with self.path.open("rb") as sealed:
                decrypt_stream(sealed, plain, self.key)
        except BaseException:
            plain.close()
            raise
        plain.seek(0)
        return plain


@dataclass
class ExportStats:
    """Rows written, and JSON Lines rows skipped because they were not objects."""

    rows: int = 0
    skipped: int = 0


class Raw(str):
    """A cell's original text, kept because it does not fit its column's type."""

    __slots__ = ()


def provenance_names(columns: list[dict[str, Any]]) -> tuple[str, str]:
    """Names of the provenance columns, never clashing with a schema column."""
    taken = {column["name"] for column in columns}
    names = []
    for base in ("_contribution", "_contributor"):
        name = base
        while name in taken:
            name = "_" + name
        taken.add(name)
        names.append(name)
    return names[0], names[1]


# --- reading ------------------------------------------------------------------------------------


def _type_rules(columns: list[dict[str, Any]]) -> list[ColumnRule]:
    # Only name and type: bounds, allowed values and patterns were the validator's business.
    rules = compile_columns([{"name": c["name"], "type": c["type"]} for c in columns])
    return list(rules.values())


def iter_rows(
    source: TabularSource, columns: list[dict[str, Any]], stats: ExportStats | None = None
) -> Iterator[list[Any]]:
    """Each data row of ``source`` as values in schema column order (None = missing)."""
    rules = _type_rules(columns)
    stats = stats if stats is not None else ExportStats()
    if source.media_type == CSV_TYPE:
        yield from _csv_rows(source, rules)
    elif source.media_type == JSONL_TYPE:
        yield from _jsonl_rows(source, rules, stats)
    else:
        raise ValueError(f"{source.path.name}: not a tabular file ({source.media_type!r})")


def _delimiter(stream: BinaryIO) -> str:
    sample = stream.read(DELIMITER_SAMPLE_BYTES + 1)
    stream.seek(0)
    complete = len(sample) <= DELIMITER_SAMPLE_BYTES
    sample = sample[:DELIMITER_SAMPLE_BYTES].removeprefix(b"\xef\xbb\xbf")
    if not complete and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    guess = detect_delimiter(sample.decode("utf-8", "replace"), complete=complete)
    return guess.delimiter or ","


def _csv_rows(source: TabularSource, rules: list[ColumnRule]) -> Iterator[list[Any]]:
    # The validator accepted fields this long; the csv module's default limit is lower.
    csv.field_size_limit(max(csv.field_size_limit(), TabularLimits().max_record_bytes))
    with source.open() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        delimiter = source.delimiter or _delimiter(raw)
        reader = csv.reader(text, delimiter=delimiter, quotechar='"')
        header = next((row for row in reader if row), None)
        if header is None:
            return
        position = {name.strip(): index for index, name in enumerate(header)}
        indexes = [position.get(rule.name) for rule in rules]
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            row: list[Any] = []
            for rule, index in zip(rules, indexes, strict=True):
                raw = fields[index] if index is not None and index < len(fields) else ""
                if not raw or raw.isspace():
                    row.append(None)
                    continue
                value, problem = check_csv_cell(rule, raw)
                row.append(Raw(raw) if problem is not None else value)
            yield row


def _jsonl_rows(
    source: TabularSource, rules: list[ColumnRule], stats: ExportStats
) -> Iterator[list[Any]]:
    with source.open() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig") as text:
        for line in text:
            if not line.strip():
                continue
            obj = json.loads(line)
            if not isinstance(obj, dict):
                stats.skipped += 1
                continue
            row: list[Any] = []
            for rule in rules:
                raw = obj.get(rule.name)
                if raw is None:
                    row.append(None)
                    continue
                value, problem = check_json_cell(rule, raw)
                if problem is None:
                    row.append(value)
                else:
                    row.append(Raw(raw if isinstance(raw, str) else json.dumps(raw)))
            yield row


def iter_merged(
    sources: Iterable[TabularSource], columns: list[dict[str, Any]], stats: ExportStats
) -> Iterator[list[Any]]:
    """Rows of every source in turn, each followed by its contribution id and contributor."""
    for source in sources:
        for row in iter_rows(source, columns, stats):
            stats.rows += 1
            row.append(source.contribution)
            row.append(source.contributor)
            yield row


# --- CSV ----------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A canonical value as text: the same spelling in the CSV and in a string Parquet column."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        # A number cannot carry a formula; escaping "-5" would corrupt negative numbers.
        return cell_text(value)
    return escape_formula(value)


def iter_csv(
    sources: Iterable[TabularSource],
    columns: list[dict[str, Any]],
    stats: ExportStats | None = None,
) -> Iterator[bytes]:
    """The merged CSV (UTF-8, RFC 4180) as chunks of bytes, for a streaming response.

    Header: the schema's columns in order, then the provenance columns. Every string cell is
    escaped with ``escape_formula``; numbers and booleans cannot be formulas and are not.
    """
    stats = stats if stats is not None else ExportStats()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [column["name"] for column in columns] + list(provenance_names(columns))
    writer.writerow([escape_formula(name) for name in header])
    for row in iter_merged(sources, columns, stats):
        writer.writerow([_csv_cell(value) for value in row])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(
    sources: Iterable[TabularSource], columns: list[dict[str, Any]], out: BinaryIO
) -> ExportStats:
    """Write the merged CSV (see ``iter_csv``) to ``out``."""
    stats = ExportStats()
    for chunk in iter_csv(sources, columns, stats):
        out.write(chunk)
    return stats


# --- Parquet ------------------------------------------------------------------------------------


def _arrow_value(kind: str, value: Any) -> Any:
    """The value for an Arrow column of ``kind``; raises ValueError if it does not fit."""
    if value is None:
        return None
    if kind in ("string", "category"):
        return str(value) if isinstance(value, str) else cell_text(value)
    if isinstance(value, Raw):
        raise ValueError(value)
    if kind == "int" and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(value)
    if kind == "datetime":
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def unfit_columns(sources: Iterable[TabularSource], columns: list[dict[str, Any]]) -> set[str]:
    """Columns with a cell that does not fit the column's Parquet type (one read of every file)."""
    kinds = [column["type"] for column in columns]
    unfit: set[int] = set()
    for source in sources:
        for row in iter_rows(source, columns):
            for index, (kind, value) in enumerate(zip(kinds, row, strict=True)):
                if index in unfit:
                    continue
                try:
                    _arrow_value(kind, value)
                except ValueError:
                    unfit.add(index)
    return {columns[index]["name"] for index in unfit}


def parquet_schema(
    columns: list[dict[str, Any]], *, as_string: set[str] | frozenset[str] = frozenset()
) -> pa.Schema:
    """Arrow schema of the merged data: the schema's types, every column nullable.

    Columns named in ``as_string`` hold text instead of their type (see ``unfit_columns``).
    """
    contribution, contributor = provenance_names(columns)
    fields = [
        pa.field(
            c["name"], pa.string() if c["name"] in as_string else _ARROW_TYPES[c["type"]], True
        )
        for c in columns
    ]
    fields.append(pa.field(contribution, pa.int64(), False))
    fields.append(pa.field(contributor, pa.string(), False))
    return pa.schema(fields)


def write_parquet(
    sources: list[TabularSource],
    columns: list[dict[str, Any]],
    out: BinaryIO | str | Path,
    *,
    metadata: dict[str, str] | None = None,
    rows_per_group: int = ROW_GROUP_ROWS,
) -> ExportStats:
    """Write the merged data as Parquet, one row group per bounded batch of rows.

    Cells are not formula-escaped: Parquet is typed data read by programs, not a spreadsheet,
    and escaping would alter the strings. Types come from the schema; a column with any cell
    that no longer fits its type is written as string instead, so nothing is lost (finding
    that out reads every file once more before writing).
    """
    as_string = unfit_columns(sources, columns)
    schema = parquet_schema(columns, as_string=as_string)
    if metadata:
        schema = schema.with_metadata({**(schema.metadata or {}), **metadata})
    kinds = ["string" if c["name"] in as_string else c["type"] for c in columns]
    kinds += ["int", "string"]
    batch_rows = max(1, min(rows_per_group, ROW_GROUP_CELLS // len(kinds)))
    stats = ExportStats()
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[list[Any]] = [[] for _ in kinds]
        for row in iter_merged(sources, columns, stats):
            for index, (kind, value) in enumerate(zip(kinds, row, strict=True)):
                batch[index].append(_arrow_value(kind, value))
            if len(batch[0]) >= batch_rows:
                writer.write_batch(_record_batch(batch, schema))
                batch = [[] for _ in kinds]
        if batch[0]:
            writer.write_batch(_record_batch(batch, schema))
    return stats


def _record_batch(batch: list[list[Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(batch, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
