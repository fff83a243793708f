"""pytest fixture for tests that need a real JSON-RPC chain (Hardhat's node, tests/chainnode.py).

A node that cannot start fails the tests that asked for it: skipping would let a broken
install pass CI with the settlement untested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chainnode import ChainNode

__all__ = ["chain_node"]


@pytest.fixture(scope="session")
def chain_node() -> Iterator[ChainNode]:
    """One Hardhat node for the session. Tests deploy their own contracts on it; a test that
    turns automine off or reverts a snapshot restores automine before it ends."""
    node = ChainNode()
    try:
        node.start()
    except Exception as exc:
        node.close()
        pytest.fail(f"the test chain node did not start: {exc}", pytrace=False)
    yield node
    node.close()
