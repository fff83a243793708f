"""Token amounts: base units to the text people read and back, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.units import UINT256_MAX, format_amount, format_units, parse_units


@pytest.mark.parametrize(
    ("amount", "decimals", "text"),
    [
        (5 * 10**18, 18, "5"),
        (25 * 10**16, 18, "0.25"),
        (1, 18, "0.000000000000000001"),
        (0, 18, "0"),
        (1_234_567 * 10**17, 18, "123,456.7"),
        (1_000_000, 0, "1,000,000"),
        (1_500_000, 6, "1.5"),
        (UINT256_MAX, 0, f"{UINT256_MAX:,}"),
        (-15, 1, "-1.5"),
    ],
)
def test_format_units(amount: int, decimals: int, text: str) -> None:
    assert format_units(amount, decimals) == text


def test_format_amount_adds_the_symbol() -> None:
    assert format_amount(5 * 10**18, 18, "AIR") == "5 AIR"
    assert format_amount(10**17, 18, "") == "0.1"


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("5", 18, 5 * 10**18),
        ("0.25", 18, 25 * 10**16),
        ("1.5", 18, 1_500_000_000_000_000_000),
        (" 1,000.5 ", 6, 1_000_500_000),
        (".5", 1, 5),
        ("5.", 2, 500),
        ("1.500000000", 6, 1_500_000),  # trailing zeros beyond the decimals are no precision
        ("0", 0, 0),
        ("123456789012345678901234567890.123456789012345678", 18,
         123456789012345678901234567890123456789012345678),
    ],
)  # fmt: skip
def test_parse_units(text: str, decimals: int, units: int) -> None:
    assert parse_units(text, decimals) == units


@pytest.mark.parametrize(
    ("text", "decimals", "message"),
    [
        ("1.1234567", 6, "1.1234567 has 7 digits after the point, but this token has 6 decimals"),
        ("0.5", 0, "this token has no decimals: enter a whole number"),
        ("-1", 18, "-1 is negative; an amount of tokens is 0 or more"),
        ("abc", 18, "'abc' is not an amount of tokens"),
        ("1e18", 18, "'1e18' is not an amount of tokens"),
        ("NaN", 18, "'NaN' is not an amount of tokens"),
        ("1,00", 18, "'1,00' is not an amount of tokens"),
        (".", 18, "'.' is not an amount of tokens"),
        ("", 18, "Enter an amount of tokens"),
        ("1.2.3", 18, "not an amount of tokens"),
        (str(UINT256_MAX + 1), 0, "more tokens than a uint256 can hold"),
        ("5", 37, "decimals must be between 0 and 36"),
    ],
)
def test_parse_units_refusals_say_why(text: str, decimals: int, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_units(text, decimals)
    assert message in str(excinfo.value)


def test_format_refuses_impossible_decimals() -> None:
    with pytest.raises(ValueError, match="between 0 and 36"):
        format_units(1, -1)


amounts = st.integers(min_value=0, max_value=UINT256_MAX)
decimals = st.integers(min_value=0, max_value=36)


@given(amounts, decimals)
def test_parse_of_format_is_the_identity(amount: int, places: int) -> None:
    assert parse_units(format_units(amount, places), places) == amount


@given(amounts, decimals)
def test_format_is_trimmed_and_grouped(amount: int, places: int) -> None:
    text = format_units(amount, places)
    whole, _, frac = text.partition(".")
    assert not frac.endswith("0")
    assert len(frac) <= places
    assert all(len(group) == 3 for group in whole.split(",")[1:])
    assert int(whole.replace(",", "")) == amount // 10**places


@given(st.integers(min_value=0, max_value=10**30), st.integers(0, 30), decimals)
def test_typed_decimals_convert_exactly(whole: int, frac_digits: int, places: int) -> None:
    # A number typed with at most `places` decimals converts without any rounding.
    digits = min(frac_digits, places)
    frac = str(whole % 10**digits).rjust(digits, "0") if digits else ""
    text = f"{whole}.{frac}" if frac else str(whole)
    expected = whole * 10**places + (int(frac) * 10 ** (places - digits) if frac else 0)
    assert expected <= UINT256_MAX  # 10**30 * 10**36 fits
    assert parse_units(text, places) == expected
