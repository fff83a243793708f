"""pytest fixtures for tests that need a real IPFS daemon (see tests/ipfsnode.py).

A node that cannot start fails the tests that asked for it, loudly: skipping would let a
broken install pass CI with the Kubo backend untested.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ipfs.backends.kubo import KuboBackend
from tests.ipfsnode import IpfsNode

__all__ = ["fresh_ipfs_node", "ipfs_node", "kubo_backend"]

#: Short enough that a call the daemon cannot satisfy fails the test quickly.
KUBO_TEST_TIMEOUT_S = 10.0


def _started_node() -> IpfsNode:
    node = IpfsNode()
    try:
        node.start()
    except Exception as exc:
        node.close()
        pytest.fail(f"the test IPFS node did not start: {exc}", pytrace=False)
    return node


@pytest.fixture(scope="session")
def ipfs_node() -> Iterator[IpfsNode]:
    """One js-ipfs daemon shared by the whole session; tests must not stop it."""
    node = _started_node()
    yield node
    node.close()


@pytest.fixture
def fresh_ipfs_node() -> Iterator[IpfsNode]:
    """A daemon of the test's own, for tests that stop or restart it."""
    node = _started_node()
    yield node
    node.close()


@pytest.fixture
def kubo_backend(ipfs_node: IpfsNode) -> KuboBackend:
    return KuboBackend(ipfs_node.multiaddr, timeout=KUBO_TEST_TIMEOUT_S)
