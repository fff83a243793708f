"""The on-disk block store: pins, verified reads, audits, CAR in/out, concurrent adds."""

from __future__ import annotations

import io
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from ipfs.backends.base import IpfsBackend, IpfsCorrupt, IpfsError, IpfsNotFound
from ipfs.backends.embedded import EmbeddedBackend
from ipfs.car import CarWriter, read_car
from ipfs.cid import Cid
from ipfs.unixfs import CHUNK_SIZE, decode_dag_pb
from tests.ipfs.payloads import PatternStream, pattern

SIZE = 3 * CHUNK_SIZE + 11  # a root over four leaves


def _block_file(store: EmbeddedBackend, cid: Cid) -> Path:
    return store._block_path(cid)


def _leaves(store: EmbeddedBackend, root: str) -> list[Cid]:
    links, _ = decode_dag_pb(store.get_block(Cid.parse(root)))
    return [link.cid for link in links]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedBackend:
    return EmbeddedBackend(tmp_path / "ipfs")


def test_satisfies_the_backend_protocol(store: EmbeddedBackend) -> None:
    backend: IpfsBackend = store
    assert backend is store


@pytest.mark.parametrize("version", [0, 1])
def test_add_pins_and_cat_returns_the_bytes(store: EmbeddedBackend, version: int) -> None:
    cid = store.add(PatternStream(SIZE), cid_version=version)
    assert cid.startswith("Qm" if version == 0 else "bafybei")
    assert store.is_pinned(cid)
    assert list(store.pinned()) == [cid]
    assert b"".join(store.cat(cid)) == pattern(SIZE)
    assert store.verify(cid) == []
    assert store.has_block(cid)


def test_pin_unpin_are_idempotent(store: EmbeddedBackend) -> None:
    cid = store.add(io.BytesIO(b"some content"), pin=False)
    assert not store.is_pinned(cid)
    assert list(store.pinned()) == []
    store.pin(cid)
    store.pin(cid)
    assert store.is_pinned(cid)
    store.unpin(cid)
    store.unpin(cid)
    assert not store.is_pinned(cid)
    # Unpinning keeps the blocks: there is no garbage collector.
    assert b"".join(store.cat(cid)) == b"some content"


def test_readding_does_not_rewrite_blocks(store: EmbeddedBackend) -> None:
    cid = store.add(PatternStream(SIZE))
    leaf = _block_file(store, _leaves(store, cid)[0])
    before = leaf.stat()
    os.utime(leaf, (1, 1))  # as if written long ago
    assert store.add(PatternStream(SIZE)) == cid
    after = leaf.stat()
    # The same file (not rewritten), only touched: a garbage collection now keeps it.
    assert before.st_ino == after.st_ino and after.st_mtime > 1


def test_a_torn_block_is_replaced_on_readd(store: EmbeddedBackend) -> None:
    cid = store.add(PatternStream(SIZE))
    leaf = _block_file(store, _leaves(store, cid)[1])
    leaf.write_bytes(leaf.read_bytes()[:100])
    assert store.verify(cid) != []
    store.add(PatternStream(SIZE))
    assert store.verify(cid) == []


def test_corrupt_block_is_never_served(store: EmbeddedBackend) -> None:
    cid = store.add(PatternStream(SIZE))
    bad = _leaves(store, cid)[2]
    path = _block_file(store, bad)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))

    chunks = store.cat(cid)
    served = b""
    with pytest.raises(IpfsCorrupt, match=f"block {bad} is corrupt"):
        for chunk in chunks:
            served += chunk
    assert served == pattern(2 * CHUNK_SIZE)  # only the verified leaves before it
    assert store.verify(cid) == [f"corrupt block {bad}"]

    store.unpin(cid)
    with pytest.raises(IpfsCorrupt, match=f"cannot pin {cid}: corrupt block {bad}"):
        store.pin(cid)
    assert not store.is_pinned(cid)


def test_corrupt_root_fails_before_streaming(store: EmbeddedBackend) -> None:
    cid = store.add(io.BytesIO(b"tiny"))
    _block_file(store, Cid.parse(cid)).write_bytes(b"tinY")
    with pytest.raises(IpfsCorrupt):
        store.cat(cid)


def test_missing_block_is_not_found(store: EmbeddedBackend) -> None:
    cid = store.add(PatternStream(SIZE), cid_version=0)
    gone = _leaves(store, cid)[0]
    _block_file(store, gone).unlink()
    assert not store.has_block(str(gone))
    with pytest.raises(IpfsNotFound, match=f"block {gone} is not stored"):
        b"".join(store.cat(cid))
    assert store.verify(cid) == [f"missing block {gone}"]
    store.unpin(cid)
    with pytest.raises(IpfsNotFound, match=f"cannot pin {cid}: missing block {gone}"):
        store.pin(cid)


def test_unknown_and_invalid_cids(store: EmbeddedBackend) -> None:
    unknown = str(Cid.of_block(b"never added", codec=0x55))
    with pytest.raises(IpfsNotFound, match="is not stored"):
        store.cat(unknown)  # raised at the call, not on first iteration
    with pytest.raises(IpfsNotFound):
        store.pin(unknown)
    assert store.verify(unknown) == [f"missing block {unknown}"]
    assert not store.is_pinned(unknown)
    store.unpin(unknown)
    with pytest.raises(IpfsError, match="invalid CID"):
        store.cat("../../etc/passwd")


def test_cat_of_a_directory_is_refused(store: EmbeddedBackend) -> None:
    directory = b"\x0a\x02\x08\x01"  # PBNode{Data: UnixFS{Type: Directory}}
    cid = Cid.of_block(directory, codec=0x70)
    store.put_block(cid, (directory,))
    with pytest.raises(IpfsError, match="not a file"):
        list(store.cat(str(cid)))


@pytest.mark.parametrize("version", [0, 1])
def test_export_import_car_between_stores(tmp_path: Path, version: int) -> None:
    source = EmbeddedBackend(tmp_path / "a")
    # Duplicate leaves (zeros) must appear once in the archive.
    zeros = source.add(io.BytesIO(bytes(3 * CHUNK_SIZE)), cid_version=version)
    other = source.add(PatternStream(SIZE), cid_version=version)
    car = io.BytesIO()
    source.export_car([zeros, other], car)

    car.seek(0)
    target = EmbeddedBackend(tmp_path / "b")
    assert target.import_car(car) == [zeros, other]
    assert target.is_pinned(zeros) and target.is_pinned(other)
    assert b"".join(target.cat(zeros)) == bytes(3 * CHUNK_SIZE)
    assert b"".join(target.cat(other)) == pattern(SIZE)

    car.seek(0)
    _, blocks = read_car(car)
    cids = [cid for cid, _ in blocks]
    assert len(cids) == len(set(cids)) == 2 + 5  # zeros: root + 1 leaf; other: root + 4


def test_import_of_an_incomplete_car_refuses_to_pin(tmp_path: Path) -> None:
    source = EmbeddedBackend(tmp_path / "a")
    cid = source.add(PatternStream(SIZE))
    car = io.BytesIO()
    source.export_car([cid], car)
    cut = io.BytesIO(car.getvalue()[: -(CHUNK_SIZE + 10)])  # drop the last leaf's section
    target = EmbeddedBackend(tmp_path / "b")
    with pytest.raises(IpfsCorrupt, match="bad CAR: truncated"):
        target.import_car(cut)

    sections = io.BytesIO()
    car.seek(0)
    roots, blocks = read_car(car)
    writer = CarWriter(sections, roots)
    for block_cid, block in list(blocks)[:-1]:
        writer.write_block(block_cid, block)
    sections.seek(0)
    with pytest.raises(IpfsNotFound, match="missing block"):
        target.import_car(sections)
    assert not target.is_pinned(cid)


def test_export_of_a_missing_dag_raises(store: EmbeddedBackend) -> None:
    unknown = str(Cid.of_block(b"nope", codec=0x55))
    with pytest.raises(IpfsNotFound, match=f"cannot export {unknown}"):
        store.export_car([unknown], io.BytesIO())


def test_fsync_mode_writes_the_same_store(tmp_path: Path) -> None:
    store = EmbeddedBackend(tmp_path, fsync=True)
    cid = store.add(PatternStream(SIZE))
    assert b"".join(store.cat(cid)) == pattern(SIZE)


def _add_in_child(root: str, size: int, start: Any, queue: Any) -> None:
    try:
        store = EmbeddedBackend(root)
        start.wait(timeout=60)  # both children write the same blocks at the same time
        queue.put(store.add(PatternStream(size)))
    except BaseException as exc:  # reported to the parent, which fails the test
        queue.put(f"error: {exc!r}")


def test_two_processes_adding_the_same_content_both_succeed(tmp_path: Path) -> None:
    size = 80 * CHUNK_SIZE + 3
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_add_in_child, args=(str(tmp_path), size, start, queue))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert results[0] == results[1], results
    store = EmbeddedBackend(tmp_path)
    assert store.is_pinned(results[0])
    assert store.verify(results[0]) == []
    leftovers = [
        name for _, _, files in os.walk(tmp_path) for name in files if name.startswith(".tmp-")
    ]
    assert leftovers == []
