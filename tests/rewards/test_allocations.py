"""Parsing allocation CSVs (rewards.allocations)."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from rewards.allocations import AllocationError, parse_allocations_csv

A = to_checksum_address("0x" + "a1" * 20)
B = to_checksum_address("0x" + "b2" * 20)


def _parse(text: str) -> list[tuple[str, int]]:
    return parse_allocations_csv(text.splitlines(keepends=True))


def test_header_optional_blank_lines_and_padding() -> None:
    expected = [(A, 10**18), (B, 0)]
    assert _parse(f"address,amount\n{A},{10**18}\n\n {B.lower()} , 0 \n") == expected
    assert _parse(f"{A},{10**18}\n{B},0\n") == expected
    assert _parse(f"Address,Amount\r\n{A},{10**18}\r\n{B},0") == expected


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (f"address,amount\n{A},1\n0x1234,5\n", 3, "address must be a 0x-prefixed"),
        (f"{A},1.5\n", 1, "amount must be a decimal integer string, not '1.5' (amounts are whole"),
        (f"{A},1e18\n", 1, "amount must be a decimal integer string"),
        (f"{A},-3\n", 1, "amount must be a decimal integer string"),
        (f"{A},{2**256}\n", 1, "amount does not fit in a uint256"),
        (f"{A},1,extra\n", 1, "expected 2 columns (address,amount), got 3"),
        (f"{A}\n", 1, "expected 2 columns (address,amount), got 1"),
        (f"{A},1\n{B},2\n\n{A.lower()},3\n", 4, f"{A} is already allocated on line 1"),
        ("address,amount\n\n", 2, "no allocations"),
        ("", 1, "no allocations"),
    ],
)
def test_bad_lines_are_named(text: str, line: int, message: str) -> None:
    with pytest.raises(AllocationError) as caught:
        _parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: {message}")
