"""Token amounts between integer base units and the text people read and type.

Money is stored as an integer number of the token's smallest unit (``5 AIR`` with 18 decimals
is ``5000000000000000000``); people read and type whole tokens. This module converts between
the two exactly: Decimal arithmetic at a precision wide enough for any uint256, never a float.
Pure: no Django imports. The messages of its refusals are ``Detail``s: English here, in the
reader's language where a page shows them (``datadao.http.localized``).
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

from datadao.errors import Detail

MAX_DECIMALS = 36
UINT256_MAX = 2**256 - 1

# Digits with an optional fraction; the whole part may be grouped by thousands with commas
# (as ``format_units`` writes it) or not grouped at all.
_AMOUNT = re.compile(r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?$")


def _check_decimals(decimals: int) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise ValueError(f"decimals must be an integer, not {decimals!r}.")
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be between 0 and {MAX_DECIMALS}, not {decimals}.")


def format_units(amount: int, decimals: int) -> str:
    """``amount`` base units as tokens: thousands grouped with commas, no trailing zeros.

    ``format_units(5 * 10**18, 18) == "5"``, ``format_units(1234567 * 10**17, 18) ==
    "123,456.7"``. Exact for any integer; a negative amount keeps its sign.
    """
    _check_decimals(decimals)
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    text = f"{sign}{whole:,}"
    if decimals and frac:
        text += "." + str(frac).rjust(decimals, "0").rstrip("0")
    return text


def parse_units(text: str, decimals: int) -> int:
    """Tokens typed by a person (``"5"``, ``"0.25"``, ``"1,000.5"``) as integer base units.

    Raises ValueError with a message fit to show the person: not a number, negative, more
    digits after the point than the token has, or beyond uint256.
    """
    _check_decimals(decimals)
    raw = text if isinstance(text, str) else str(text)
    cleaned = raw.strip()
    if not cleaned:
        raise ValueError(Detail("Enter an amount of tokens, e.g. 5 or 0.25."))
    if cleaned.startswith("-"):
        raise ValueError(
            Detail("%(amount)s is negative; an amount of tokens is 0 or more.", amount=cleaned)
        )
    match = _AMOUNT.match(cleaned)
    if match is None or not (match["whole"] or match["frac"]):
        raise ValueError(
            Detail(
                "%(amount)s is not an amount of tokens; write digits with an optional decimal "
                "point, e.g. 5, 0.25 or 1,000.5.",
                amount=repr(cleaned),
            )
        )
    whole = match["whole"].replace(",", "") or "0"
    frac = (match["frac"] or "").rstrip("0")
    if len(frac) > decimals:
        if decimals == 0:
            raise ValueError(
                Detail(
                    "%(amount)s has digits after the point, but this token has no decimals: "
                    "enter a whole number.",
                    amount=cleaned,
                )
            )
        if decimals == 1:
            raise ValueError(
                Detail(
                    "%(amount)s has %(digits)s digits after the point, but this token has 1 "
                    "decimal: enter at most 1.",
                    amount=cleaned,
                    digits=len(frac),
                )
            )
        raise ValueError(
            Detail(
                "%(amount)s has %(digits)s digits after the point, but this token has "
                "%(decimals)s decimals: enter at most %(decimals)s.",
                amount=cleaned,
                digits=len(frac),
                decimals=decimals,
            )
        )
    # The precision covers every digit of the scaled value, so nothing is ever rounded.
    with localcontext() as context:
        context.prec = len(whole) + decimals + 2
        units = Decimal(f"{whole}.{frac or '0'}").scaleb(decimals)
        if units != units.to_integral_value():  # unreachable by the checks above; a guard
            raise ValueError(
                Detail("%(amount)s is not a whole number of base units.", amount=cleaned)
            )
        value = int(units)
    if value > UINT256_MAX:
        raise ValueError(
            Detail("%(amount)s is more tokens than a uint256 can hold.", amount=cleaned)
        )
    return value


def format_amount(amount: int, decimals: int, symbol: str) -> str:
    """``format_units`` followed by the token's symbol: ``"5 AIR"``."""
    text = format_units(amount, decimals)
    return f"{text} {symbol}" if symbol else text
