"""Property-based fuzzing (issue #9) of the three parsers that read hostile input.

Structure-aware: random bytes alone rarely get past the first check, so each strategy starts
from something almost valid (a schema with the right keys, a file with the right magic bytes
and header, a well-formed SIWE message) and breaks it. Plain random input is covered by
tests/contributions/validation/test_properties.py, tests/datadao/test_schema.py and
tests/datadao/test_siwe.py; this file adds the near-misses. Examples are few so the run is fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contributions.validation import ValidationResult, validate_file
from datadao.schema import KINDS, validate_schema
from datadao.siwe import SiweError, SiweMessage, parse_message

pytestmark = pytest.mark.timeout(60)

# FUZZ_EXAMPLES=5000 for a longer hunt; the test command keeps it short.
FAST = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- schema validator ----------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["int", "float", "bool", "string", "category", "datetime", "(a+)+$", "[", ""])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
COLUMN_KEYS = ["name", "type", "required", "min", "max", "allowed", "regex", "max_length"]
TOP_KEYS = [
    "columns", "target", "max_size", "media_types", "image", "labels", "multi_choice",
    "overlap", "max_overlap", "gold_rate", "confidence_target", "gold_accuracy_floor", "item_kind",
]  # fmt: skip
COLUMNS = st.lists(
    st.dictionaries(st.sampled_from(COLUMN_KEYS), VALUES, max_size=8) | VALUES, max_size=5
)
NEAR_SCHEMAS = st.fixed_dictionaries(
    {},
    optional={
        **{key: VALUES for key in TOP_KEYS},
        "columns": COLUMNS,
        "image": st.dictionaries(
            st.sampled_from(["min_width", "min_height", "max_width", "max_height", "x"]),
            VALUES,
        ),
        "labels": st.lists(st.text(max_size=120) | VALUES, max_size=6),
    },
)


@FAST
@given(kind=st.sampled_from([*KINDS, "other", ""]), schema=NEAR_SCHEMAS | VALUES)
def test_schema_validator_always_returns_a_list_of_messages(kind: str, schema: Any) -> None:
    errors = validate_schema(kind, schema)
    assert isinstance(errors, list)
    assert all(isinstance(error, str) and error for error in errors)
    json.dumps(errors)


# --- file validators -----------------------------------------------------------------------------

TABULAR = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "when", "type": "datetime"},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
        {"name": "note", "type": "string", "regex": "^[a-z]*$", "max_length": 5},
    ],
    "max_size": 64 * 1024,
}
FILES = {"media_types": ["image/png", "image/gif", "text/plain", "application/x-ndjson"]}
PREFIXES = st.sampled_from(
    [
        b"",
        b"id,when,kind,note\n",
        b"id;when;kind;note\r\n1;2024-01-01T00:00:00Z;a;x\r\n",
        b'{"id": 1, "kind": "a"}\n',
        b"\xef\xbb\xbfid,kind\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"GIF89a\x10\x00\x10\x00",
        b"\xff\xd8\xff\xe0",
        b"PK\x03\x04",
        b"<html>",
        b'"',
    ]
)
CELLISH = st.text(alphabet='0123456789abz,;"\n\r\t{}[]:-TZ. \x00\u00e9\ufeff', max_size=200)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "upload"


@FAST
@given(
    kind=st.sampled_from(["tabular", "files"]),
    prefix=PREFIXES,
    body=CELLISH.map(str.encode) | st.binary(max_size=300),
)
def test_validate_file_gives_a_verdict_for_any_bytes(
    scratch: Path, kind: str, prefix: bytes, body: bytes
) -> None:
    scratch.write_bytes(prefix + body)
    result = validate_file(scratch, kind=kind, schema=TABULAR if kind == "tabular" else FILES)
    assert isinstance(result, ValidationResult)
    assert result.accepted == (not result.reasons)
    assert all(isinstance(reason, str) and reason for reason in result.reasons)
    json.dumps(result.to_dict())


# --- SIWE parser ---------------------------------------------------------------------------------

GOOD = SiweMessage(
    domain="example.org",
    address="0x71C7656EC7ab88b098defB751B7401B5f6d8976F",
    statement="Sign in to datadao.",
    uri="https://example.org/",
    version="1",
    chain_id=1,
    nonce="abcdefgh12345678",
    issued_at="2024-01-01T00:00:00Z",
    resources=("https://example.org/a",),
).to_text()
GOOD_LINES = GOOD.split("\n")
NASTY = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
    | st.sampled_from(["\r", "\n", "\x00", "\u0435", "\uff54", ": ", "- ", "Resources:", "0x"]),
    max_size=6,
).map("".join)


@st.composite
def mutated_messages(draw: st.DrawFn) -> str:
    lines = list(GOOD_LINES)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["replace", "insert", "delete", "edit", "duplicate"]))
        at = draw(st.integers(0, len(lines) - 1 if lines else 0))
        if action == "replace" and lines:
            lines[at] = draw(NASTY)
        elif action == "insert":
            lines.insert(at, draw(NASTY))
        elif action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "duplicate" and lines:
            lines.insert(at, lines[at])
        elif lines:
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(NASTY) + line[cut + draw(st.integers(0, 3)) :]
    return "\n".join(lines)


@FAST
@given(text=mutated_messages() | st.text(max_size=300))
def test_siwe_parser_parses_or_refuses_with_siwe_error(text: str) -> None:
    try:
        parsed = parse_message(text)
    except SiweError as exc:
        assert exc.code == "malformed" and str(exc)
        return
    # Whatever is accepted prints back to the text that was signed; the one allowed variant is
    # an empty "Resources:" section (the ABNF allows zero resources; to_text leaves it out).
    assert parsed.to_text() == text or (
        not parsed.resources and text == parsed.to_text() + "\nResources:"
    )
