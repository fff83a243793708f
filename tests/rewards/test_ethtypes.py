"""The shared value parsing (rewards.ethtypes) and the keccak backend (rewards.keccak)."""

from __future__ import annotations

import pytest
from eth_utils import keccak, to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from rewards.ethtypes import bytes32, checksum_address, uint256, uint256_decimal
from rewards.keccak import keccak256, pycryptodome_keccak_256


@given(raw=st.binary(min_size=20, max_size=20))
def test_checksum_matches_eth_utils(raw: bytes) -> None:
    expected = to_checksum_address(raw)
    for given_form in (expected, expected.lower(), "0x" + expected[2:].upper()):
        assert checksum_address(given_form) == expected


@given(raw=st.binary(min_size=20, max_size=20), position=st.integers(0, 39))
def test_a_flipped_letter_case_is_refused(raw: bytes, position: int) -> None:
    good = to_checksum_address(raw)
    body = good[2:]
    letters = [i for i, c in enumerate(body) if c.isalpha()]
    if not letters or body in (body.lower(), body.upper()):
        return  # no checksum to break
    i = letters[position % len(letters)]
    typo = "0x" + body[:i] + body[i].swapcase() + body[i + 1 :]
    if typo[2:] in (body.lower(), body.upper()):
        return  # flipping made it all one case: a form without checksum, accepted
    with pytest.raises(ValueError, match="invalid EIP-55 checksum"):
        checksum_address(typo)


@given(data=st.binary(max_size=300))
def test_keccak_backends_agree(data: bytes) -> None:
    assert keccak256(data) == pycryptodome_keccak_256(data).digest() == keccak(data)


def test_uint256_decimal_forms() -> None:
    assert uint256_decimal("0") == 0
    assert uint256_decimal(str(2**256 - 1)) == 2**256 - 1
    assert uint256_decimal(7) == 7
    for bad in ("", "-1", "+1", "01", "1.0", "1e3", " 1", "0x10", "1_000"):
        with pytest.raises(ValueError, match="must be a decimal integer string"):
            uint256_decimal(bad)
    with pytest.raises(ValueError, match="does not fit in a uint256"):
        uint256_decimal(str(2**256))
    with pytest.raises(ValueError, match="does not fit in a uint256"):
        uint256_decimal("9" * 5000)  # refused before int() parses it
    with pytest.raises(ValueError, match="nonce must be an int, not float"):
        uint256(1.0, "nonce")


def test_bytes32_forms() -> None:
    assert bytes32("0x" + "AB" * 32) == b"\xab" * 32
    for bad in ("ab" * 32, "0x" + "ab" * 31, "0x" + "ab" * 33, "0x" + "g" * 64, b"\x00" * 32):
        with pytest.raises(ValueError, match="must be 0x followed by 64 hex digits"):
            bytes32(bad)
