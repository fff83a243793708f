"""Strict parsing of the three Solidity value types the rewards code signs and proves.

Every value that ends up in a leaf or a signed message passes through here, so the same
input is accepted (or refused, with the same message) by the Merkle tree, the EIP-712
payloads and the management commands. Refusals are ``ValueError`` naming ``what`` was wrong.
"""

from __future__ import annotations

import re

from rewards.keccak import keccak_256

UINT256_LIMIT = 2**256
_UINT256_DIGITS = len(str(UINT256_LIMIT - 1))
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32_RE = re.compile(r"0x[0-9a-fA-F]{64}")
_DECIMAL_RE = re.compile(r"0|[1-9][0-9]*")

# EIP-55 upper-cases a hex letter where the matching nibble of keccak(lowercase hex) is >= 8.
# Doing that with two byte translations and one integer XOR instead of a per-character loop
# makes checksumming cost about one hash: it runs once per allocation in trees of a million.
_NIBBLE_HIGH = bytes.maketrans(b"0123456789abcdef", b"\x00" * 8 + b"\x20" * 8)
_IS_LETTER = bytes.maketrans(b"0123456789abcdef", b"\x00" * 10 + b"\x20" * 6)


def checksum_address(value: object, what: str = "address") -> str:
    """``value`` as an EIP-55 checksummed address.

    All-lowercase and all-uppercase hex are accepted (they carry no checksum); mixed case
    must be a correct checksum, since a wrong one means a typo in an address that will
    receive tokens.
    """
    if not isinstance(value, str) or not _ADDRESS_RE.fullmatch(value):
        raise ValueError(f"{what} must be a 0x-prefixed 20-byte hex address, not {value!r}")
    body = value[2:]
    lower = body.lower().encode("ascii")
    nibbles = keccak_256(lower).hexdigest()[:40].encode("ascii")
    flip = int.from_bytes(nibbles.translate(_NIBBLE_HIGH)) & int.from_bytes(
        lower.translate(_IS_LETTER)
    )
    checksummed = "0x" + (int.from_bytes(lower) ^ flip).to_bytes(40).decode("ascii")
    if checksummed == value and type(value) is str:
        return value  # the caller's string: a million-value tree then holds no copies
    if body != body.lower() and body != body.upper():
        raise ValueError(f"{what} has an invalid EIP-55 checksum: {value!r}")
    return checksummed


def uint256(value: object, what: str = "amount") -> int:
    """``value`` as a uint256: an ``int`` (never a float or bool) in [0, 2**256)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an int, not {type(value).__name__} ({value!r})")
    if value < 0:
        raise ValueError(f"{what} must not be negative: {value}")
    if value >= UINT256_LIMIT:
        raise ValueError(f"{what} does not fit in a uint256: {value}")
    return value


def uint256_decimal(value: object, what: str = "amount") -> int:
    """A uint256 from an ``int`` or a canonical decimal string ("0", "12", never "012").

    The JSON forms (OpenZeppelin dumps, eth_signTypedData_v4 payloads) carry big integers
    as decimal strings because JavaScript numbers lose precision above 2**53.
    """
    if isinstance(value, str):
        if not _DECIMAL_RE.fullmatch(value):
            raise ValueError(f"{what} must be a decimal integer string, not {value!r}")
        if len(value) > _UINT256_DIGITS:
            raise ValueError(f"{what} does not fit in a uint256: {value}")
        return uint256(int(value), what)
    return uint256(value, what)


def bytes32(value: object, what: str = "bytes32") -> bytes:
    """``value`` (``0x`` + 64 hex digits, either case) as 32 bytes."""
    if not isinstance(value, str) or not _BYTES32_RE.fullmatch(value):
        raise ValueError(f"{what} must be 0x followed by 64 hex digits, not {value!r}")
    return bytes.fromhex(value[2:])
