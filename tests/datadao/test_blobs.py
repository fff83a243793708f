"""The shared-file store (datadao/blobs.py), the same checks on both kinds: the folder under
DATA_DIR and a bucket on a real S3-compatible server process (moto in server mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import override_settings

from datadao import blobs
from tests.fixtures_s3 import SECRET_KEY, S3Bucket


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, settings) -> blobs.Store:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path / "data"
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    made = blobs.store()
    assert made.kind == request.param
    return made


def _leftovers(root: Path) -> list[Path]:
    """Files a store left on this disk (copies, partial writes)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_put_get_exists_delete(store: blobs.Store) -> None:
    key = "uploads/0123abcd"
    assert not store.exists(key)
    store.save_bytes(key, b"id,value\n1,2\n")
    assert store.exists(key)
    assert store.read_bytes(key) == b"id,value\n1,2\n"
    with store.open(key) as stream:
        assert stream.read(3) == b"id,"
        stream.seek(0)
        assert stream.read() == b"id,value\n1,2\n"
    store.save_bytes(key, b"replaced")
    assert store.read_bytes(key) == b"replaced"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # already gone: not an error


def test_a_missing_object_is_a_clear_error(store: blobs.Store) -> None:
    key = "uploads/never-written"
    with pytest.raises(blobs.BlobMissing, match="uploads/never-written is not") as caught:
        store.read_bytes(key)
    assert isinstance(caught.value, FileNotFoundError)  # callers' `except FileNotFoundError`
    with pytest.raises(blobs.BlobMissing, match="never-written"):
        store.open(key)
    with pytest.raises(blobs.BlobMissing, match="never-written"), store.local_copy(key):
        pass
    if isinstance(store, blobs.S3Store):
        with pytest.raises(blobs.BlobMissing) as caught:
            store.read_bytes(key)
        assert f"the bucket {store.bucket_name!r}" in str(caught.value)


def test_move_in_stores_the_file_and_takes_it_away(store: blobs.Store, tmp_path: Path) -> None:
    source = tmp_path / "received"
    source.write_bytes(b"x" * 3_000_000)  # past the in-memory spool: read back from disk
    store.move_in("uploads/moved", source)
    assert not source.exists()
    assert store.read_bytes("uploads/moved") == b"x" * 3_000_000


def test_a_local_copy_is_there_for_the_block_only(store: blobs.Store, settings) -> None:  # type: ignore[no-untyped-def]
    store.save_bytes("uploads/copied", b"abc")
    with store.local_copy("uploads/copied") as path:
        assert path.read_bytes() == b"abc"
    if store.kind == "s3":
        assert not path.exists()
        assert _leftovers(Path(settings.DATA_DIR)) == []
    else:
        assert path == Path(settings.DATA_DIR) / "uploads" / "copied"  # the stored file


def test_writing_stores_on_a_clean_exit_only(store: blobs.Store, settings) -> None:  # type: ignore[no-untyped-def]
    with store.writing("uploads/a.rows") as path:
        path.write_bytes(b"\x01" * 16)
        assert not store.exists("uploads/a.rows")  # nobody sees half a file
    assert store.read_bytes("uploads/a.rows") == b"\x01" * 16
    with store.writing("uploads/b.rows"):
        pass  # the writer left no file: nothing is stored
    assert not store.exists("uploads/b.rows")
    with pytest.raises(RuntimeError), store.writing("uploads/c.rows") as path:
        path.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert not store.exists("uploads/c.rows")
    assert _leftovers(Path(settings.DATA_DIR)) == (
        [] if store.kind == "s3" else [Path(settings.DATA_DIR) / "uploads" / "a.rows"]
    )


def test_delete_many(store: blobs.Store) -> None:
    keys = [f"uploads/many-{i}" for i in range(5)]
    for key in keys:
        store.save_bytes(key, key.encode())
    store.delete_many([*keys[:3], "uploads/never-there"])
    assert [store.exists(key) for key in keys] == [False, False, False, True, True]
    store.delete_many([])


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "uploads/../x", ".hidden", "a//b", ""])
def test_keys_stay_inside_the_store(store: blobs.Store, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        store.save_bytes(key, b"x")


def test_a_blob_handle_reads_like_a_path(store: blobs.Store) -> None:
    handle = blobs.Blob("uploads/handle")
    assert not handle.exists()
    store.save_bytes("uploads/handle", b"data")
    assert handle.exists() and handle.name == "handle"
    with handle.open("rb") as stream:
        assert stream.read() == b"data"
    with pytest.raises(ValueError, match="binary only"):
        handle.open("r")


def test_the_store_follows_the_settings(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    assert blobs.store().kind == "s3"
    blobs.store().save_bytes("uploads/where", b"in the bucket")
    assert s3_bucket.keys() == ["uploads/where"]
    assert s3_bucket.get("uploads/where") == b"in the bucket"
    with override_settings(UPLOAD_STORAGE="local", DATA_DIR=tmp_path):
        local = blobs.store()
        assert local.kind == "local" and not local.exists("uploads/where")
    assert blobs.store().exists("uploads/where")


def test_credentials_come_from_the_environment_and_are_never_shown(
    s3_bucket: S3Bucket, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    made = blobs.store()
    assert SECRET_KEY not in repr(made)
    assert not any(SECRET_KEY in repr(getattr(settings, name)) for name in dir(settings))
    # Another secret in the environment: the next use builds a store with it.
    monkeypatch.setenv("UPLOAD_S3_SECRET_ACCESS_KEY", "another")
    assert blobs.store() is not made


def test_an_unreachable_bucket_is_store_unavailable_and_quick(
    s3_bucket: S3Bucket, settings
) -> None:  # type: ignore[no-untyped-def]
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings.UPLOAD_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed}"
    began = time.monotonic()
    with pytest.raises(blobs.StoreUnavailable) as caught:
        blobs.store().save_bytes("uploads/nowhere", b"x")
    assert time.monotonic() - began < 15
    message = str(caught.value)
    assert s3_bucket.name in message and "did not answer" in message
    assert SECRET_KEY not in message and os.environ["UPLOAD_S3_ACCESS_KEY_ID"] not in message


def test_a_refusing_bucket_is_store_unavailable(s3_bucket: S3Bucket, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_S3_BUCKET = "no-such-bucket-here"
    with pytest.raises(blobs.StoreUnavailable, match=r"no-such-bucket-here.*NoSuchBucket"):
        blobs.store().save_bytes("uploads/x", b"x")


def test_stale_local_copies_are_purged(s3_bucket: S3Bucket, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    folder = tmp_path / "blob-copies"
    folder.mkdir()
    old, new = folder / "copy-old", folder / "copy-new"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    long_ago = old.stat().st_mtime - 2 * blobs.STALE_AFTER_SECONDS
    os.utime(old, (long_ago, long_ago))
    assert blobs.clear_stale_copies() == 1
    assert sorted(folder.iterdir()) == [new]
