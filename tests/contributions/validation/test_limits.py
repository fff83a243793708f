"""Hostile sizes: a 100 MB single line, a million-column header, 200k rows in constant memory.

No timing assertions: "fast" shows as the suite's runtime. Memory is measured with tracemalloc
(Python allocations, which is where an unbounded reader would put the file).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from contributions.validation.report import TabularReport
from contributions.validation.tabular import validate_csv, validate_jsonl

T = TypeVar("T")
MIB = 1024 * 1024
COLUMNS = [{"name": "id", "type": "int", "required": True}, {"name": "name", "type": "string"}]


def peak_of(call: Callable[[], T]) -> tuple[T, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_single_line(path: Path, prefix: bytes, size: int) -> Path:
    chunk = b"x" * MIB
    with path.open("wb") as out:
        out.write(prefix)
        for _ in range(size // MIB):
            out.write(chunk)
    return path


def test_100_mb_single_csv_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = write_single_line(tmp_path / "line.csv", b"id,name\n1,", 100 * MIB)
    report, peak = peak_of(lambda: validate_csv(path, columns=COLUMNS))
    assert report.fatal == [
        "line 2 (from byte offset 8) is longer than 1.0 MiB; "
        "lines that long are refused rather than read into memory"
    ]
    assert peak < 8 * MIB, peak


def test_100_mb_single_jsonl_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = write_single_line(tmp_path / "line.jsonl", b'{"name": "', 100 * MIB)
    report, peak = peak_of(lambda: validate_jsonl(path, columns=COLUMNS))
    assert report.fatal == [
        "line 1 (from byte offset 0) is longer than 1.0 MiB; "
        "lines that long are refused rather than read into memory"
    ]
    assert peak < 8 * MIB, peak


def test_million_column_header_is_refused_by_its_width(tmp_path: Path) -> None:
    header = b",".join(b"c%d" % i for i in range(1_000_000))
    path = tmp_path / "wide.csv"
    path.write_bytes(header + b"\n" + b"1," * 999_999 + b"1\n")
    report, peak = peak_of(lambda: validate_csv(path, columns=COLUMNS))
    (message,) = report.fatal
    assert message.startswith("the header has more than ")
    assert message.endswith(" columns, but the schema defines 2 (at most 18 are read)")
    assert report.delimiter == ","
    assert peak < 8 * MIB, peak


def test_200k_rows_validate_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w") as out:
        out.write("id,name\n")
        out.writelines(f"{i},name-{i}\n" for i in range(1, 200_001))
    seen: list[int] = []

    def on_row(row: int, values: dict[str, Any]) -> None:
        if row % 50_000 == 0:
            seen.append(values["id"])

    report: TabularReport
    report, peak = peak_of(lambda: validate_csv(path, columns=COLUMNS, on_row=on_row))
    assert report.ok and report.rows_valid == 200_000
    assert seen == [50_000, 100_000, 150_000, 200_000]
    size = path.stat().st_size
    assert size > 3 * MIB
    # Constant: well under the file's size (3.3 MB) and nowhere near one object per row.
    assert peak < MIB, (peak, size)
