"""check_zip: every way a zip can hurt the machine that extracts it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from contributions.validation.archive import ZipLimits, check_zip
from tests.contributions.validation.payloads import write, zip_bytes


def test_ordinary_zip_is_safe(tmp_path: Path) -> None:
    data = zip_bytes([("a.txt", b"hello"), ("dir/b.csv", b"a,b\n1,2\n"), ("dir/", b"")])
    assert check_zip(write(tmp_path / "ok.zip", data)) == []


def test_high_compression_ratio_is_a_zip_bomb(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.zip", zip_bytes([("zeros.bin", b"\x00" * 10_000_000)]))
    (problem,) = check_zip(path)
    assert problem.startswith("entry 'zeros.bin' expands ")
    assert problem.endswith(" to 9.5 MiB), more than 100: a zip bomb")


def test_total_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path / "t.zip", zip_bytes([("a", b"x" * 3000), ("b", b"y" * 3000)]))
    limits = ZipLimits(max_total_bytes=5000, max_ratio=1e9)
    assert check_zip(path, limits) == [
        "the archive expands to 5.9 KiB, more than the 4.9 KiB allowed"
    ]


def test_too_many_entries_is_refused_before_listing_them(tmp_path: Path) -> None:
    path = write(tmp_path / "many.zip", zip_bytes([(f"f{i}", b"x") for i in range(50)]))
    assert check_zip(path, ZipLimits(max_entries=10)) == [
        "the archive has 50 entries, more than the 10 allowed"
    ]


def test_nested_archives_by_name_and_by_content(tmp_path: Path) -> None:
    inner = zip_bytes([("x.txt", b"y")])
    data = zip_bytes([("inner.zip", b"whatever"), ("innocent.dat", inner), ("a.txt", b"a")])
    assert check_zip(write(tmp_path / "n.zip", data)) == [
        "entry 'inner.zip' is itself an archive",
        "entry 'innocent.dat' is itself an archive",
    ]


def test_zip_slip_names(tmp_path: Path) -> None:
    names = ["../evil.sh", "/etc/cron.d/x", "a\\..\\b", "C:/Windows/x", "ok/../../up"]
    path = write(tmp_path / "slip.zip", zip_bytes([(name, b"x") for name in names]))
    assert check_zip(path) == [
        "entry '../evil.sh': its name climbs out of the folder with '..' (path traversal)",
        "entry '/etc/cron.d/x': its name is an absolute path",
        "entry 'a\\\\..\\\\b': its name contains a backslash",
        "entry 'a\\\\..\\\\b': its name climbs out of the folder with '..' (path traversal)",
        "entry 'C:/Windows/x': its name starts with a drive letter",
        "entry 'ok/../../up': its name climbs out of the folder with '..' (path traversal)",
    ]


def test_nul_byte_in_a_name(tmp_path: Path) -> None:
    # zipfile cuts names at NUL when writing, so the byte is patched into both headers.
    data = zip_bytes([("safe.txtXsh", b"x")]).replace(b"safe.txtXsh", b"safe.txt\x00sh")
    assert check_zip(write(tmp_path / "nul.zip", data)) == [
        "entry 'safe.txt\\x00sh': its name contains a NUL byte"
    ]


def test_symlink_entry(tmp_path: Path) -> None:
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("passwd")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    assert check_zip(path) == ["entry 'passwd' is a symbolic link"]


def test_duplicate_and_overlapping_entries(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", b"hello"), ("b.txt", b"world")]))
    # Point the second central-directory entry at the first entry's local header.
    second = data.rfind(b"PK\x01\x02")
    data[second + 42 : second + 46] = (0).to_bytes(4, "little")
    problems = check_zip(write(tmp_path / "overlap.zip", bytes(data)))
    assert problems == [
        "entries 'a.txt' and 'b.txt' overlap in the archive (a zip bomb technique)",
        "entry 'b.txt' cannot be read: File name in directory 'b.txt' and header b'a.txt' differ.",
    ]
    with pytest.warns(UserWarning, match="Duplicate name: 'same'"):
        dup = zip_bytes([("same", b"1"), ("same", b"2")])
    assert check_zip(write(tmp_path / "dup.zip", dup)) == ["entry 'same' appears more than once"]


def test_not_a_zip_and_truncated_zip(tmp_path: Path) -> None:
    assert check_zip(write(tmp_path / "x", b"hello")) == [
        "the file is not a zip archive (no end-of-central-directory record)"
    ]
    data = zip_bytes([("a.txt", b"hello" * 100)])
    (problem,) = check_zip(write(tmp_path / "cut.zip", data[:20] + data[-22:]))
    assert problem.startswith("the zip archive is malformed: ")


def test_oversized_directory_is_refused_before_zipfile_reads_it(tmp_path: Path) -> None:
    path = write(tmp_path / "d.zip", zip_bytes([(f"{i:0>200}", b"x") for i in range(20)]))
    assert check_zip(path, ZipLimits(max_directory_bytes=1024)) == [
        "the archive's directory is 4.8 KiB, more than the 1.0 KiB allowed"
    ]
