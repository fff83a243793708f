"""Files-kind checks: text (encoding, NUL, metrics), PDF structure, JSON syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from contributions.validation.base import ValidationFailed
from contributions.validation.jsonfile import check_json_document, check_json_lines
from contributions.validation.pdf import check_pdf
from contributions.validation.text import CHUNK_BYTES, TextReport, check_text
from tests.contributions.validation.payloads import write


def reasons_of(call, *args) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        call(*args)
    return caught.value.reasons


def test_text_metrics(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "Hello world, 42 times.\nÜber\tcafé\n".encode())
    assert check_text(path) == TextReport(
        encoding="utf-8",
        bytes=35,
        chars=33,
        lines=2,
        words=6,
        printable_ratio=1.0,
        letter_ratio=round(23 / 33, 4),
        avg_word_length=round(25 / 6, 4),
    )


def test_text_metrics_see_control_characters_and_words_across_chunks(tmp_path: Path) -> None:
    body = b"word " * 20_000 + b"\x01\x02"
    assert (CHUNK_BYTES - 3) % 5 not in (0, 4)  # a word straddles the first chunk boundary
    report = check_text(write(tmp_path / "t", b"\xef\xbb\xbf" + body))
    assert report.encoding == "utf-8-sig" and report.bytes == len(body) + 3
    assert (report.words, report.avg_word_length) == (20_000, 4.0)
    assert report.printable_ratio == round(1 - 2 / len(body), 4)


def test_text_refusals(tmp_path: Path) -> None:
    assert reasons_of(check_text, write(tmp_path / "l", b"abc\ndef\xe9g\n")) == [
        "the file is not valid UTF-8: byte 0xE9 at offset 7 (line 2) cannot be decoded; "
        "that part may be Windows-1252 (Latin-1). Save the file as UTF-8 and upload it again"
    ]
    assert reasons_of(check_text, write(tmp_path / "n", b"ab\ncd\x00")) == [
        "the file has a NUL byte at offset 5 (line 2); it is not text"
    ]
    assert reasons_of(check_text, write(tmp_path / "b", b" \n\t\n")) == [
        "the text file is empty or blank"
    ]
    cut = reasons_of(check_text, write(tmp_path / "c", "é".encode() + b"x\xc3"))
    assert cut[0].startswith("the file mixes text encodings: it contains UTF-8 text, but byte ")
    assert "0xC3 at offset 3 (line 1)" in cut[0]


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nxref\nstartxref\n9\n%%EOF\n"


def test_pdf_structure(tmp_path: Path) -> None:
    assert check_pdf(write(tmp_path / "ok.pdf", PDF)) == {"version": "1.7"}
    assert reasons_of(check_pdf, write(tmp_path / "h", b"hello %PDF-1.7")) == [
        "the file does not start with a PDF header (%PDF-1.x)"
    ]
    assert reasons_of(check_pdf, write(tmp_path / "t", PDF[:40])) == [
        "the PDF has no %%EOF marker at its end: it is truncated or not a PDF"
    ]
    assert reasons_of(check_pdf, write(tmp_path / "p", PDF + b"<html>x</html>")) == [
        "the file has 15 bytes after the end of the PDF (%%EOF); "
        "files that hide other content after a document are refused"
    ]


def test_pdf_with_javascript_is_refused(tmp_path: Path) -> None:
    data = PDF.replace(b"/Type /Catalog", b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
    at = data.index(b"/JavaScript")
    assert reasons_of(check_pdf, write(tmp_path / "js.pdf", data)) == [
        f"the PDF contains JavaScript (at offset {at}); PDFs with active content are refused"
    ]


def test_json_document(tmp_path: Path) -> None:
    check_json_document(write(tmp_path / "ok", b'{"a": [1, 2, {"b": null}]}'))
    deep = b"[" * 10_000 + b"]" * 10_000
    assert reasons_of(check_json_document, write(tmp_path / "deep", deep)) == [
        "the JSON document is refused: nested deeper than 32 levels"
    ]
    assert reasons_of(check_json_document, write(tmp_path / "two", b"{}\n{}")) == [
        "the JSON document is refused: not valid JSON: Extra data at column 1"
    ]


def test_json_lines_file(tmp_path: Path) -> None:
    check_json_lines(write(tmp_path / "ok", b'{"a": 1}\n\n[2]\n"x"\n'))
    assert reasons_of(check_json_lines, write(tmp_path / "bad", b'{"a": 1}\n{"a": }\n')) == [
        "line 2: not valid JSON: Expecting value at column 7"
    ]
