"""SPDX license expressions, validated with the maintained ``license-expression`` library."""

from __future__ import annotations

from functools import cache

from license_expression import Licensing, get_spdx_licensing


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def normalize_license(expression: str) -> str:
    """Return the canonical SPDX form (``cc-by-4.0`` -> ``CC-BY-4.0``) or raise ValueError."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("License: required, an SPDX license id such as CC-BY-4.0.")
    if len(expression) > 200:
        raise ValueError("License: at most 200 characters.")
    try:
        info = _licensing().validate(expression, strict=True)
    except Exception as exc:  # the library raises bare errors on some malformed expressions
        raise ValueError(f"License: {expression!r} is not a valid SPDX expression.") from exc
    if info.errors or not info.normalized_expression:
        detail = "; ".join(info.errors) or "not a valid SPDX expression"
        raise ValueError(f"License: {expression!r}: {detail}.")
    return str(info.normalized_expression)
