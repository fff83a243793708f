"""validate_file: the verdict, media type, reasons and report for each kind of upload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contributions.validation import ROW_DIGEST_BYTES, row_digest, validate_file
from datadao.schema import SchemaError
from tests.contributions.validation.payloads import (
    CSV_GOOD_ROW,
    CSV_HEADER,
    TABULAR_SCHEMA,
    image_bytes,
    png_declaring,
    write,
    zip_bytes,
)

FILES_SCHEMA: dict[str, Any] = {
    "media_types": ["image/png", "image/jpeg", "text/plain"],
    "max_size": 100_000,
    "image": {"min_width": 10, "max_width": 1000},
}


def test_tabular_csv_is_accepted_with_a_report(tmp_path: Path) -> None:
    path = write(tmp_path / "data.txt", f"{CSV_HEADER}\n{CSV_GOOD_ROW}\n".encode())
    result = validate_file(path, kind="tabular", schema=TABULAR_SCHEMA)
    assert (result.accepted, result.media_type, result.reasons) == (True, "text/csv", [])
    assert result.report["bytes"] == path.stat().st_size
    assert result.report["sniffed"] == {
        "media_type": "text/csv",
        "detail": "CSV text, delimiter ','",
        "acceptable": ["text/csv", "text/plain"],
    }
    tabular = result.report["tabular"]
    assert (tabular["rows_total"], tabular["rows_valid"], tabular["columns"]) == (1, 1, 8)


def test_tabular_jsonl_with_a_bad_row_is_refused_with_row_reasons(tmp_path: Path) -> None:
    data = b'{"id": 1}\n{"id": 0}\n'
    result = validate_file(write(tmp_path / "r", data), kind="tabular", schema=TABULAR_SCHEMA)
    assert (result.accepted, result.media_type) == (False, "application/x-ndjson")
    assert result.reasons == [
        "1 of 2 rows are invalid",
        "row 2 (line 2), column 'id': below the minimum 1 (got '0')",
    ]


def test_html_named_csv_is_refused_under_its_real_type(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"<!doctype html><html><body>id\n1</body></html>")
    result = validate_file(path, kind="tabular", schema=TABULAR_SCHEMA)
    assert (result.accepted, result.media_type) == (False, "text/html")
    assert result.reasons == [
        "a tabular dataset takes CSV or JSON Lines files, but this file is "
        "text/html (HTML document)"
    ]


def test_zip_and_json_array_for_a_tabular_dataset(tmp_path: Path) -> None:
    zipped = validate_file(
        write(tmp_path / "z.csv", zip_bytes([("a.csv", b"id\n1\n")])),
        kind="tabular",
        schema=TABULAR_SCHEMA,
    )
    assert zipped.reasons == [
        "a tabular dataset takes CSV or JSON Lines files, but this file is "
        "application/zip (zip archive (also .docx, .xlsx, .jar))"
    ]
    pretty = validate_file(
        write(tmp_path / "a.json", b'[\n {"id": 1},\n {"id": 2}\n]\n'),
        kind="tabular",
        schema=TABULAR_SCHEMA,
    )
    assert pretty.reasons == [
        "a tabular dataset takes CSV or JSON Lines files, but this file is "
        "application/json (JSON document); put one JSON object per line (JSON Lines) instead"
    ]


def test_row_digests_are_streamed_to_a_sidecar_and_removed_on_refusal(tmp_path: Path) -> None:
    schema = {"columns": [{"name": "id", "type": "int"}, {"name": "s", "type": "string"}]}
    sidecar = tmp_path / "rows.bin"
    seen: list[int] = []
    result = validate_file(
        write(tmp_path / "ok.csv", b"id,s\n1,a\n2,b\n"),
        kind="tabular",
        schema=schema,
        row_digest_path=sidecar,
        on_row=lambda row, _: seen.append(row),
    )
    assert result.accepted and seen == [1, 2]
    digests = sidecar.read_bytes()
    assert len(digests) == 2 * ROW_DIGEST_BYTES
    assert digests[:ROW_DIGEST_BYTES] == row_digest({"id": 1, "s": "a"})
    refused = validate_file(
        write(tmp_path / "bad.csv", b"id,s\n1,a\nx,b\n"),
        kind="tabular",
        schema=schema,
        row_digest_path=sidecar,
    )
    assert not refused.accepted and not sidecar.exists()


def test_files_image_accepted_and_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "photo.txt", image_bytes("JPEG", (64, 48)))
    result = validate_file(path, kind="files", schema=FILES_SCHEMA)
    assert (result.accepted, result.media_type) == (True, "image/jpeg")
    assert result.report["image"] == {"width": 64, "height": 48, "mode": "RGB", "format": "JPEG"}


def test_files_media_type_not_allowed_names_the_detected_type(tmp_path: Path) -> None:
    path = write(tmp_path / "a.png", image_bytes("GIF"))
    result = validate_file(path, kind="files", schema=FILES_SCHEMA)
    assert (result.accepted, result.media_type) == (False, "image/gif")
    assert result.reasons == [
        "this dataset accepts image/png, image/jpeg, text/plain, but the file's content is "
        "image/gif (GIF image)"
    ]


def test_files_polyglot_and_bomb_go_through_the_image_checks(tmp_path: Path) -> None:
    poly = write(tmp_path / "p.png", image_bytes("PNG") + b"<script>alert(1)</script>")
    assert (
        validate_file(poly, kind="files", schema=FILES_SCHEMA)
        .reasons[1]
        .startswith("the file contains web-page or script markup ('<script' at offset ")
    )
    bomb = write(tmp_path / "b.png", png_declaring(100_000, 100_000))
    (reason, *_) = validate_file(bomb, kind="files", schema=FILES_SCHEMA).reasons
    assert reason.startswith("the image declares 100000×100000 pixels")


def test_files_text_is_accepted_with_metrics(tmp_path: Path) -> None:
    path = write(tmp_path / "n.bin", b"Some words here.\n")
    result = validate_file(path, kind="files", schema=FILES_SCHEMA)
    assert (result.accepted, result.media_type) == (True, "text/plain")
    assert result.report["text"]["words"] == 3


def test_files_csv_allowed_for_a_one_column_list(tmp_path: Path) -> None:
    schema = {"media_types": ["text/csv"]}
    result = validate_file(write(tmp_path / "l", b"name\nann\nbo\n"), kind="files", schema=schema)
    assert (result.accepted, result.media_type) == (True, "text/csv")


def test_files_json_document_checked(tmp_path: Path) -> None:
    schema = {"media_types": ["application/json"]}
    ok = validate_file(write(tmp_path / "ok", b'{"a": 1}'), kind="files", schema=schema)
    assert (ok.accepted, ok.media_type) == (True, "application/json")


def test_files_pdf(tmp_path: Path) -> None:
    schema = {"media_types": ["application/pdf"]}
    pdf = b"%PDF-1.4\nstartxref\n0\n%%EOF\n"
    result = validate_file(write(tmp_path / "d", pdf), kind="files", schema=schema)
    assert (result.accepted, result.report["pdf"]) == (True, {"version": "1.4"})


def test_size_and_emptiness_are_checked_first(tmp_path: Path) -> None:
    big = validate_file(write(tmp_path / "big", b"a" * 100_001), kind="files", schema=FILES_SCHEMA)
    assert big.reasons == ["the file is 97.7 KiB, more than the 97.7 KiB this dataset accepts"]
    assert "sniffed" not in big.report
    empty = validate_file(write(tmp_path / "e", b""), kind="files", schema=FILES_SCHEMA)
    assert (empty.accepted, empty.media_type, empty.reasons) == (False, None, ["the file is empty"])


def test_results_are_deterministic_and_json_serializable(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", f"{CSV_HEADER}\n{CSV_GOOD_ROW}\nx,1,1,red,,,,\n".encode())
    first = validate_file(path, kind="tabular", schema=TABULAR_SCHEMA)
    second = validate_file(path, kind="tabular", schema=TABULAR_SCHEMA)
    assert first == second
    assert json.loads(json.dumps(first.to_dict())) == first.to_dict()


def test_programming_errors_raise(tmp_path: Path) -> None:
    path = write(tmp_path / "a", b"x")
    with pytest.raises(ValueError, match="handles tabular, files and labeling, not 'bogus'"):
        validate_file(path, kind="bogus", schema={})
    with pytest.raises(SchemaError, match="media_types: must be a non-empty list"):
        validate_file(path, kind="files", schema={})
