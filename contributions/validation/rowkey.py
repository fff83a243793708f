"""The canonical byte form of one normalized row, for row hashes and uniqueness checks.

Pure: no Django imports.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Row digests are BLAKE2b cut to 16 bytes: collisions are negligible (2^-64 per pair) and a
# sidecar of a million rows stays at 16 MB.
ROW_DIGEST_BYTES = 16


def normalized_row_key(values: Mapping[str, Any]) -> bytes:
    """Return the canonical UTF-8 bytes of a row given as column name → value.

    The bytes are ``json.dumps`` of the row with keys sorted, no whitespace, non-ASCII kept
    as is, after this normalization (idempotent, so already-normalized rows from the
    validators pass through unchanged):

    * strings and column names: Unicode NFKC (compatibility forms such as full-width digits
      and ligatures become their plain letters), invisible format characters (zero-width
      spaces and joiners, soft hyphens, a stray BOM) removed, every run of whitespace made
      one space, surrounding whitespace stripped;
    * floats: Python's shortest round-trip repr, with ``-0.0`` as ``0.0`` (NaN/inf refused);
    * datetimes: ISO 8601 in UTC with a ``Z`` suffix (naive means UTC);
    * ``None``, bools and ints as JSON ``null``, ``true``/``false`` and integers.

    Two rows that are the same datum (key order, whitespace, Unicode composition, invisible
    characters, ``-0.0``) get equal bytes: the key decides whether a row is new to a dataset,
    so a spelling that leaves the datum as it is must not make a new row. (Letter case is
    kept: in a string it can be the datum, and categories only take their listed values.)
    Hash them (e.g. SHA-256) for a fixed-size key. Raises ``ValueError`` for a non-finite
    float and ``TypeError`` for any other value type.
    """
    row = {_text(str(name)): _value(value) for name, value in values.items()}
    return json.dumps(
        row, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def row_digest(values: Mapping[str, Any]) -> bytes:
    """The ``ROW_DIGEST_BYTES``-byte BLAKE2b digest of ``normalized_row_key(values)``."""
    return hashlib.blake2b(normalized_row_key(values), digest_size=ROW_DIGEST_BYTES).digest()


def _value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a row key cannot hold {value!r}")
        return value + 0.0
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, datetime):
        naive = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat() + "Z"
    raise TypeError(f"a row key cannot hold a {type(value).__name__}")


def _text(text: str) -> str:
    normal = unicodedata.normalize("NFKC", text)
    if not normal.isascii():
        normal = "".join(ch for ch in normal if unicodedata.category(ch) != "Cf")
    return " ".join(normal.split())
