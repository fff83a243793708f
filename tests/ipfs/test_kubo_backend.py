"""KuboBackend against a real (js-ipfs) daemon: CIDs, pins, streaming and failure modes."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ipfs.backends.base import IpfsError, IpfsUnavailable
from ipfs.backends.kubo import KuboBackend, canonical_cid, to_multiaddr
from tests import ipfsnode
from tests.ipfsnode import IpfsNode

HELLO = b"hello world"
HELLO_V1 = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"


def _unique(size: int = 1000) -> bytes:
    # Random content per test: the session node is shared, so pins must not collide.
    return os.urandom(size)


def test_add_v1_matches_ipfs_add_cid_version_1(kubo_backend: KuboBackend) -> None:
    assert kubo_backend.add(io.BytesIO(HELLO), cid_version=1) == HELLO_V1


def test_add_v0(kubo_backend: KuboBackend) -> None:
    assert kubo_backend.add(io.BytesIO(HELLO), cid_version=0) == HELLO_V0


def test_add_pins_unless_told_not_to(kubo_backend: KuboBackend) -> None:
    pinned = kubo_backend.add(io.BytesIO(_unique()))
    unpinned = kubo_backend.add(io.BytesIO(_unique()), pin=False)
    assert kubo_backend.is_pinned(pinned)
    assert not kubo_backend.is_pinned(unpinned)


def test_add_only_hash_stores_nothing(kubo_backend: KuboBackend) -> None:
    data = _unique()
    cid = kubo_backend.add_only_hash(io.BytesIO(data), 1)
    assert cid.startswith("bafkrei")
    assert not kubo_backend.is_pinned(cid)
    assert kubo_backend.add(io.BytesIO(data), pin=False) == cid


def test_cat_round_trip_of_a_multi_block_file(kubo_backend: KuboBackend) -> None:
    data = _unique(3 * 256 * 1024 + 5)
    for version in (0, 1):
        cid = kubo_backend.add(io.BytesIO(data), cid_version=version)
        assert b"".join(kubo_backend.cat(cid)) == data


def test_pin_unpin_are_idempotent(kubo_backend: KuboBackend) -> None:
    cid = kubo_backend.add(io.BytesIO(_unique()), pin=False)
    kubo_backend.pin(cid)
    kubo_backend.pin(cid)
    assert kubo_backend.is_pinned(cid)
    assert cid in set(kubo_backend.pinned())
    kubo_backend.unpin(cid)
    kubo_backend.unpin(cid)
    assert not kubo_backend.is_pinned(cid)
    assert cid not in set(kubo_backend.pinned())


def test_pinned_lists_v1_in_base32_next_to_v0(kubo_backend: KuboBackend) -> None:
    data = _unique()
    v0 = kubo_backend.add(io.BytesIO(data), cid_version=0)
    v1 = kubo_backend.add(io.BytesIO(data), cid_version=1)
    pins = set(kubo_backend.pinned())
    assert {v0, v1} <= pins
    assert all(p.startswith(("Qm", "b")) for p in pins)


def test_pin_of_unknown_content_is_retryable_and_bounded(ipfs_node: IpfsNode) -> None:
    backend = KuboBackend(ipfs_node.multiaddr, timeout=2.0)
    missing = backend.add_only_hash(io.BytesIO(_unique()), 1)
    started = time.monotonic()
    with pytest.raises(IpfsUnavailable, match=missing):
        backend.pin(missing)
    assert time.monotonic() - started < 15
    assert not backend.is_pinned(missing)


def test_cat_of_unknown_content_is_retryable_and_bounded(ipfs_node: IpfsNode) -> None:
    backend = KuboBackend(ipfs_node.multiaddr, timeout=2.0)
    missing = backend.add_only_hash(io.BytesIO(_unique()), 1)
    started = time.monotonic()
    with pytest.raises(IpfsUnavailable, match="cat"):
        b"".join(backend.cat(missing))
    assert time.monotonic() - started < 15


def test_node_errors_carry_the_daemon_message(kubo_backend: KuboBackend) -> None:
    with pytest.raises(IpfsError) as info:
        kubo_backend.pin("not-a-cid")
    assert not isinstance(info.value, IpfsUnavailable)
    assert "pin not-a-cid" in str(info.value)


def test_url_and_multiaddr_are_both_accepted(ipfs_node: IpfsNode) -> None:
    assert to_multiaddr(ipfs_node.api_url) == ipfs_node.multiaddr
    assert to_multiaddr("https://ipfs.example:8443/api/v0/") == "/dns/ipfs.example/tcp/8443/https"
    assert to_multiaddr("http://[::1]:5001") == "/ip6/::1/tcp/5001/http"
    backend = KuboBackend(ipfs_node.api_url, timeout=10)
    assert backend.add(io.BytesIO(HELLO), pin=False) == HELLO_V1


def test_canonical_cid_turns_base58btc_v1_into_base32() -> None:
    assert canonical_cid("zb2rhj7crUKTQYRGCRATFaQ6YFLTde2YzdqbbhAASkL9uRDXn") == HELLO_V1
    assert canonical_cid(HELLO_V0) == HELLO_V0
    assert canonical_cid(HELLO_V1) == HELLO_V1


def _every_operation(backend: KuboBackend, cid: str) -> dict[str, Callable[[], object]]:
    return {
        "add": lambda: backend.add(io.BytesIO(HELLO)),
        "add_only_hash": lambda: backend.add_only_hash(io.BytesIO(HELLO), 1),
        "pin": lambda: backend.pin(cid),
        "is_pinned": lambda: backend.is_pinned(cid),
        "cat": lambda: b"".join(backend.cat(cid)),
        "unpin": lambda: backend.unpin(cid),
        "pinned": lambda: list(backend.pinned()),
        "dag_import": lambda: backend.dag_import(io.BytesIO(b"")),
    }


def test_stopped_node_is_unavailable_and_restart_recovers(fresh_ipfs_node: IpfsNode) -> None:
    backend = KuboBackend(fresh_ipfs_node.multiaddr, timeout=5.0)
    data = _unique()
    cid = backend.add(io.BytesIO(data))

    fresh_ipfs_node.stop()
    for name, operation in _every_operation(backend, cid).items():
        started = time.monotonic()
        with pytest.raises(IpfsUnavailable):
            operation()
        assert time.monotonic() - started < 10, name

    fresh_ipfs_node.restart()
    assert backend.is_pinned(cid)
    assert b"".join(backend.cat(cid)) == data
    assert backend.add(io.BytesIO(HELLO)) == HELLO_V1


def test_missing_js_ipfs_install_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ipfsnode, "CLI", tmp_path / "missing" / "cli.js")
    node = IpfsNode()
    try:
        with pytest.raises(RuntimeError, match="npm ci --prefix tests/ipfsnode"):
            node.start()
    finally:
        node.close()
