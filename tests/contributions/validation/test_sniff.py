"""sniff: content decides the media type; names and extensions never do."""

from __future__ import annotations

from pathlib import Path

import pytest

from contributions.validation.sniff import (
    BINARY_PREFIX_BYTES,
    TEXT_SAMPLE_BYTES,
    acceptable_types,
    sniff,
)
from tests.contributions.validation.payloads import image_bytes, write, zip_bytes


@pytest.mark.parametrize(
    ("fmt", "media_type", "detail"),
    [
        ("PNG", "image/png", "PNG image"),
        ("JPEG", "image/jpeg", "JPEG image"),
        ("GIF", "image/gif", "GIF image"),
        ("WEBP", "image/webp", "WebP image"),
    ],
)
def test_images_are_recognised_by_magic_bytes_whatever_their_name(
    tmp_path: Path, fmt: str, media_type: str, detail: str
) -> None:
    found = sniff(write(tmp_path / "holiday.txt", image_bytes(fmt)))
    assert (found.media_type, found.detail) == (media_type, detail)
    assert found.acceptable == {media_type}


@pytest.mark.parametrize(
    ("data", "media_type", "detail"),
    [
        (b"%PDF-1.7\n%%EOF\n", "application/pdf", "PDF document"),
        (zip_bytes([("a.txt", b"x")]), "application/zip", "zip archive (also .docx, .xlsx, .jar)"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "application/gzip", "gzip-compressed data"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "application/x-executable", "ELF executable"),
        (b"\x00" * 257 + b"ustar\x0000", "application/x-tar", "tar archive"),
    ],
)
def test_non_text_formats_are_named(
    tmp_path: Path, data: bytes, media_type: str, detail: str
) -> None:
    found = sniff(write(tmp_path / "data.csv", data))
    assert (found.media_type, found.detail) == (media_type, detail)


def test_windows_executable_with_pe_header_is_named(tmp_path: Path) -> None:
    header = bytearray(256)
    header[:2] = b"MZ"
    header[60:64] = (128).to_bytes(4, "little")
    header[128:132] = b"PE\x00\x00"
    found = sniff(write(tmp_path / "setup.png", bytes(header)))
    assert found.media_type == "application/vnd.microsoft.portable-executable"
    assert found.describe() == (
        "application/vnd.microsoft.portable-executable (Windows/DOS executable (MZ))"
    )


def test_text_starting_with_mz_is_still_text(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "a.txt", b"MZ is a postcode prefix\n"))
    assert found.media_type == "text/plain"


@pytest.mark.parametrize(
    "start",
    [b"<!DOCTYPE html>\n<html><body>x</body></html>", b"  <html lang='en'>", b"<script>x()"],
)
def test_html_pretending_to_be_csv_is_html(tmp_path: Path, start: bytes) -> None:
    found = sniff(write(tmp_path / "x.csv", start + b"\na,b\n1,2\n"))
    assert found.media_type == "text/html"
    assert found.detail == "HTML document"
    assert found.acceptable == {"text/html"}


def test_csv_is_csv_and_also_plain_text(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "a.bin", b"a;b;c\n1;2;3\n4;5;6\n"))
    assert found.media_type == "text/csv"
    assert found.detail == "CSV text, delimiter ';'"
    assert found.acceptable == {"text/csv", "text/plain"}
    assert found.encoding == "utf-8"


def test_one_column_list_is_plain_text_but_acceptable_as_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "names", b"name\nalice\nbob\n")
    assert sniff(path).media_type == "text/plain"
    assert acceptable_types(path) == {"text/plain", "text/csv"}


def test_prose_with_ragged_commas_is_not_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", b"Hello, world. How are you?\nFine\nYes, well, ok\n")
    assert acceptable_types(path) == {"text/plain"}


def test_json_lines(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "rows.csv", b'{"a": 1}\n\n{"a": 2}\n'))
    assert found.media_type == "application/x-ndjson"
    assert found.acceptable == {"application/x-ndjson", "text/plain"}


def test_json_lines_with_one_broken_line_in_five_stays_json_lines(tmp_path: Path) -> None:
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}\n{"a": 5,}\n'
    assert sniff(write(tmp_path / "rows", data)).media_type == "application/x-ndjson"


def test_single_line_json_object_is_json_and_json_lines(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "one", b'{"a": [1, 2]}'))
    assert found.media_type == "application/json"
    assert found.acceptable == {"application/json", "application/x-ndjson", "text/plain"}


def test_pretty_printed_json_document(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "doc", b'{\n  "a": 1,\n  "b": [1, 2]\n}\n'))
    assert found.media_type == "application/json"
    assert "application/x-ndjson" not in found.acceptable


def test_deeply_nested_json_line_is_still_recognised_without_recursion(tmp_path: Path) -> None:
    deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    found = sniff(write(tmp_path / "deep", deep + b"\n" + deep + b"\n"))
    assert found.media_type == "application/x-ndjson"


def test_large_json_document_is_judged_on_its_prefix(tmp_path: Path) -> None:
    body = b"[\n" + b'  {"key": "value"},\n' * (TEXT_SAMPLE_BYTES // 10) + b'  {"key": 1}\n]\n'
    found = sniff(write(tmp_path / "big", body))
    assert found.media_type == "application/json"
    assert found.detail == "JSON document, judged on its first 64 KiB"


def test_utf8_bom_is_noted(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "bom", b"\xef\xbb\xbfa,b\n1,2\n"))
    assert (found.media_type, found.encoding) == ("text/csv", "utf-8-sig")


def test_latin1_csv_is_still_csv_with_a_note(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "l.csv", b"name,city\nJos\xe9,Paris\n"))
    assert found.media_type == "text/csv"
    assert found.detail == "CSV text, delimiter ',', not valid UTF-8"


def test_latin1_text_names_the_byte_its_line_and_the_likely_encoding(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "l.csv", b"name,city\nJos\xe9,Paris\n"))
    assert found.not_utf8 == (
        "the file is not valid UTF-8: byte 0xE9 at offset 13 (line 2) cannot be decoded; that "
        "part may be Windows-1252 (Latin-1). Save the file as UTF-8 and upload it again"
    )
    assert sniff(write(tmp_path / "u.csv", "name\nJosé\n".encode())).not_utf8 is None


def test_cyrillic_legacy_text_is_text_in_the_wrong_encoding_not_binary(tmp_path: Path) -> None:
    rows = "город,страна\n".encode("cp1251") + "Москва,Россия\n".encode("cp1251") * 200
    found = sniff(write(tmp_path / "c.csv", rows))
    assert found.media_type == "text/csv"
    assert found.not_utf8 is not None
    assert found.not_utf8.startswith("the file is not valid UTF-8: byte 0xE3 at offset 0 (line 1)")


@pytest.mark.parametrize(
    "data",
    [
        b'{"id": 1, "value": 2.5\n{"id": 2, "value": 3.5}\n',
        b"{not json}\n",
        b"[1, 2\n[3, 4]\n[5, 6]\n",
    ],
)
def test_text_shaped_like_json_with_a_broken_first_line_is_json_lines(
    tmp_path: Path, data: bytes
) -> None:
    found = sniff(write(tmp_path / "b.jsonl", data))
    assert found.media_type == "application/x-ndjson"
    assert "text/csv" not in found.acceptable


def test_utf16_text_is_named_and_not_accepted_as_text(tmp_path: Path) -> None:
    found = sniff(write(tmp_path / "u.csv", "a,b\n1,2\n".encode("utf-16")))
    assert found.media_type is None
    assert found.detail == "UTF-16 text (only UTF-8 text is accepted)"
    assert found.acceptable == frozenset()


def test_empty_and_binary_files(tmp_path: Path) -> None:
    assert sniff(write(tmp_path / "e", b"")).detail == "an empty file"
    noise = bytes(range(1, 32)) * 40
    assert sniff(write(tmp_path / "n", noise)).detail == "unrecognised binary data"
    nul = sniff(write(tmp_path / "z", b"abc\x00def"))
    assert (nul.media_type, nul.detail) == (None, "unrecognised binary data (it has NUL bytes)")


def test_sniff_reads_a_bounded_prefix(tmp_path: Path) -> None:
    # A PNG signature followed by a huge tail: the decision needs only the first bytes.
    path = tmp_path / "huge.png"
    with path.open("wb") as out:
        out.write(image_bytes("PNG")[:BINARY_PREFIX_BYTES])
        out.seek(200 * 1024 * 1024)
        out.write(b"\x00")
    assert sniff(path).media_type == "image/png"
