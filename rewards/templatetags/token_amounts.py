"""Template filters for token amounts: every page shows money in tokens with the symbol.

``{{ amount|tokens:dao }}`` → ``5 AIR``; ``{{ amount|token_units:dao }}`` → ``5``. ``dao`` is
anything with ``token_decimals`` and ``token_symbol`` (a DAO). An empty amount shows as "".
"""

from __future__ import annotations

from typing import Any

from django import template

from rewards.units import format_amount, format_units

register = template.Library()


@register.filter
def tokens(amount: Any, dao: Any) -> str:
    if amount is None or amount == "":
        return ""
    return format_amount(int(amount), dao.token_decimals, dao.token_symbol)


@register.filter
def token_units(amount: Any, dao: Any) -> str:
    if amount is None or amount == "":
        return ""
    return format_units(int(amount), dao.token_decimals)


@register.filter
def bps_percent(bps: Any) -> str:
    """Basis points as a percentage: ``1234`` → ``12.34%``."""
    if bps is None or bps == "":
        return ""
    whole, frac = divmod(int(bps), 100)
    return f"{whole}.{frac:02d}%".replace(".00%", "%")
