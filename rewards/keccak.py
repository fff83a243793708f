"""Keccak-256 (Ethereum's, not NIST SHA3-256: same sponge, different padding byte).

Merkle trees hash three times per allocation, so the per-call cost of the hash dominates
building a tree and proving it. safe-pysha3 is a plain C extension: about 0.9 µs per
64-byte call here, against about 5.5 µs for pycryptodome's keccak (whose Python wrapper
allocates a state object and makes several FFI calls per hash). pycryptodome comes with
eth-account, so it is the fallback where safe-pysha3 is not installed: same digests, slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from Crypto.Hash import keccak as _pycryptodome


class KeccakState(Protocol):
    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


def pycryptodome_keccak_256(data: bytes = b"") -> KeccakState:
    """The fallback constructor (kept importable so tests can compare it with the fast one)."""
    return _pycryptodome.new(digest_bits=256, data=data)


keccak_256: Callable[[bytes], KeccakState]
try:
    from sha3 import keccak_256  # type: ignore[no-redef]

    BACKEND = "safe-pysha3"
except ImportError:  # pragma: no cover - depends on what is installed
    keccak_256 = pycryptodome_keccak_256
    BACKEND = "pycryptodome"


def keccak256(data: bytes) -> bytes:
    """The 32-byte keccak-256 digest of ``data``."""
    return keccak_256(data).digest()
