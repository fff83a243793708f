"""Garbage collection in the embedded store: the blocks no pin reaches go, shared and fresh ones
stay, and a pin or add racing the collection never loses a block."""

from __future__ import annotations

import io
import os
import random
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from ipfs.backends.embedded import EmbeddedBackend
from ipfs.cid import Cid
from ipfs.unixfs import CHUNK_SIZE, decode_dag_pb

SIZE = 3 * CHUNK_SIZE + 11


def _data(seed: int, size: int = SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def _add(store: EmbeddedBackend, data: bytes) -> str:
    return store.add(io.BytesIO(data))


def _blocks(store: EmbeddedBackend) -> set[str]:
    return {
        entry.name
        for shard in os.scandir(store._blocks)
        if shard.is_dir()
        for entry in os.scandir(shard.path)
    }


def _age(store: EmbeddedBackend, seconds: float = 7200) -> None:
    """Every block written ``seconds`` ago."""
    for shard in os.scandir(store._blocks):
        for entry in os.scandir(shard.path):
            then = entry.stat().st_mtime - seconds
            os.utime(entry.path, (then, then))


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedBackend:
    return EmbeddedBackend(tmp_path / "ipfs")


def test_unpinned_blocks_go_and_shared_and_pinned_ones_stay(store: EmbeddedBackend) -> None:
    kept = _add(store, _data(1))
    gone = _add(store, _data(2))
    # Shares every leaf with ``kept``'s first chunks, under another root.
    shared = _add(store, _data(1)[: 2 * CHUNK_SIZE])
    store.unpin(gone)
    store.unpin(shared)
    _age(store)
    before = _blocks(store)
    dry = store.collect_garbage(dry_run=True)
    assert _blocks(store) == before and dry["deleted"] > 0
    report = store.collect_garbage()
    assert report["problems"] == [] and report["deleted"] == dry["deleted"]
    assert store.verify(kept) == []
    assert b"".join(store.cat(kept)) == _data(1)
    assert not store.has_block(gone)
    links, _ = decode_dag_pb(store.get_block(Cid.parse(kept)))
    assert all(store.has_block(link.cid) for link in links)  # the shared leaves included
    # The unpinned root over shared leaves is gone; its leaves stay (kept's).
    assert not store.has_block(shared)
    # A second run finds nothing more.
    assert store.collect_garbage()["deleted"] == 0


def test_fresh_blocks_stay_until_the_grace_period_passes(store: EmbeddedBackend) -> None:
    cid = _add(store, _data(3))
    store.unpin(cid)
    report = store.collect_garbage(grace_seconds=3600)
    assert report["deleted"] == 0 and report["too_recent"] == len(_blocks(store))
    count = len(_blocks(store))
    assert store.collect_garbage(grace_seconds=0)["deleted"] == count
    assert not store.has_block(cid)


def test_re_adding_or_pinning_old_unpinned_blocks_during_a_collection_keeps_them(
    store: EmbeddedBackend,
) -> None:
    readded = _add(store, _data(4))
    repinned = _add(store, _data(5))
    store.unpin(readded)
    store.unpin(repinned)
    _age(store)
    # The collection looks at the pins first; the content comes back right after that, as an
    # add or a pin in another process would.
    original = store._reachable

    def marked_then_raced() -> tuple[set[str], list[str]]:
        result = original()
        assert _add(store, _data(4)) == readded
        store.pin(repinned)
        return result

    store._reachable = marked_then_raced  # type: ignore[method-assign]
    report = store.collect_garbage()
    assert report["deleted"] == 0 and report["problems"] == []
    for cid in (readded, repinned):
        assert store.is_pinned(cid) and store.verify(cid) == []


def test_concurrent_adds_never_lose_a_block(store: EmbeddedBackend) -> None:
    old = [_add(store, _data(s)) for s in range(10, 14)]
    for cid in old:
        store.unpin(cid)
    _age(store)
    added: list[str] = []

    def add_again() -> None:
        for s in range(10, 14):
            added.append(_add(store, _data(s)))

    adder = threading.Thread(target=add_again)
    adder.start()
    for _ in range(5):
        store.collect_garbage()
    adder.join()
    assert added == old
    for cid in added:
        assert store.verify(cid) == []


def test_a_broken_pinned_dag_stops_the_collection_before_any_deletion(
    store: EmbeddedBackend,
) -> None:
    pinned = _add(store, _data(6))
    orphan = _add(store, _data(7))
    store.unpin(orphan)
    _age(store)
    store._block_path(Cid.parse(pinned)).unlink()  # the pinned root's node is lost
    before = _blocks(store)
    report = store.collect_garbage()
    assert report["problems"] and report["deleted"] == 0
    assert _blocks(store) == before


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "cmd-ipfs"
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=root):
        store = EmbeddedBackend(root)
        cid = _add(store, _data(8))
        store.unpin(cid)
        _age(store)
        call_command("ipfs_gc", "--dry-run")
        assert "would delete 5 blocks" in capsys.readouterr().out
        call_command("ipfs_gc")
        assert "deleted 5 blocks" in capsys.readouterr().out
        assert not store.has_block(cid)
        with pytest.raises(CommandError, match="--grace"):
            call_command("ipfs_gc", "--grace", "-1")


def test_a_block_touched_after_the_look_is_put_back(store: EmbeddedBackend) -> None:
    """The collection looked at a block and found it stale; an add then re-used it (touched
    it) before the deletion: it is kept, under its own name. Untouched, it is deleted."""
    cid = _add(store, _data(15))
    store.unpin(cid)
    _age(store)
    path = str(store._block_path(Cid.parse(cid)))
    cutoff = time.time() - 60
    os.utime(path)  # the add's touch, after the collection's look
    assert EmbeddedBackend._delete_unless_fresh(path, cutoff) is False
    assert store.verify(cid) == []
    assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".gc-")]
    os.utime(path, (cutoff - 10, cutoff - 10))
    assert EmbeddedBackend._delete_unless_fresh(path, cutoff) is True
    assert not os.path.exists(path)
