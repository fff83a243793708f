"""CID parsing is strict (it guards URL path segments) and encodings round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipfs.cid import (
    DAG_CBOR,
    DAG_PB,
    RAW,
    Cid,
    b32decode,
    b32encode,
    b58decode,
    b58encode,
    decode_varint,
    encode_varint,
)

HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
HELLO_V1 = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
DIR_V1 = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe"  # dag-pb, from Kubo


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02")],
)
def test_varint_known_encodings(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(encoded) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(b"\xff" + encoded, 1) == (value, len(encoded) + 1)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x80\x00", "non-minimal"),
        (b"\x80", "truncated"),
        (b"", "truncated"),
        (b"\xff" * 9 + b"\x01", "longer than 9"),
    ],
)
def test_varint_rejects_bad_encodings(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_varint(raw)


def test_varint_range() -> None:
    with pytest.raises(ValueError):
        encode_varint(-1)
    with pytest.raises(ValueError):
        encode_varint(2**63)


def test_base58_and_base32_known_values() -> None:
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58encode(b"\0\0\x01") == "112"
    assert b58decode("112") == b"\0\0\x01"
    assert b32encode(b"foobar") == "mzxw6ytboi"  # RFC 4648 test vector, lowercased
    assert b32decode("mzxw6ytboi") == b"foobar"


def test_base32_rejects_non_canonical_forms() -> None:
    with pytest.raises(ValueError, match="non-canonical"):
        b32decode("mzxw6ytboj")  # same bytes, but nonzero padding bits
    with pytest.raises(ValueError, match="invalid base32"):
        b32decode("MZXW6YTBOI")
    with pytest.raises(ValueError, match="invalid base32"):
        b32decode("mzxw6ytboi======")


@given(st.binary(max_size=64))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(min_size=32, max_size=32), st.sampled_from([RAW, DAG_PB]))
def test_cid_string_round_trip(digest: bytes, codec: int) -> None:
    v1 = Cid(1, codec, digest)
    assert Cid.parse(str(v1)) == v1
    assert str(v1).startswith("bafk" if codec == RAW else "bafy")
    v0 = Cid(0, DAG_PB, digest)
    assert str(v0).startswith("Qm") and len(str(v0)) == 46
    assert Cid.parse(str(v0)) == v0
    assert Cid.from_bytes(v1.to_bytes()) == v1
    assert Cid.from_bytes(v0.to_bytes()) == v0


def test_known_cids_parse() -> None:
    v0 = Cid.parse(HELLO_V0)
    assert (v0.version, v0.codec) == (0, DAG_PB)
    assert v0.to_bytes()[:2] == b"\x12\x20" and len(v0.to_bytes()) == 34
    v1 = Cid.parse(HELLO_V1)
    assert (v1.version, v1.codec) == (1, RAW)
    assert v1.to_bytes()[:4] == b"\x01\x55\x12\x20"
    assert str(Cid.parse(DIR_V1)) == DIR_V1
    assert v0.to_v1().codec == DAG_PB
    assert str(v0.to_v1()).startswith("bafybei")


def test_base58btc_v1_is_accepted_and_printed_in_base32() -> None:
    v1 = Cid.parse(HELLO_V1)
    z_form = "z" + b58encode(v1.to_bytes())
    assert Cid.parse(z_form) == v1
    assert str(Cid.parse(z_form)) == HELLO_V1


def _b32(data: bytes) -> str:
    return "b" + b32encode(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty CID"),
        ("Qm" + "0" * 44, "invalid base58btc character"),
        ("Qm" + "1" * 44, "not a sha2-256 multihash"),
        (HELLO_V1.upper(), "unknown multibase prefix"),
        ("B" + HELLO_V1[1:].upper(), "unknown multibase prefix"),
        (HELLO_V1[:-1] + "E", "invalid base32"),
        (HELLO_V1[:-2], "truncated"),
        (HELLO_V1 + "a", "invalid base32"),
        (HELLO_V1 + "aaaaaaaa", "trailing bytes"),
        ("f01551220" + "00" * 32, "unknown multibase prefix"),
        ("b", "truncated"),
        (_b32(b"\x01\x55\x00\x04abcd"), "unsupported multihash"),
        (_b32(b"\x01\x55\x12\x10" + b"\0" * 16), "digest length"),
        (_b32(b"\x02\x55\x12\x20" + b"\0" * 32), "unsupported CID version"),
        (_b32(b"\x01\x71\x12\x20" + b"\0" * 32), "unsupported codec dag-cbor"),
        (_b32(b"\x12\x20" + b"\0" * 32), "CIDv0 has no multibase prefix"),
        (_b32(b"\x01\x55\x12\x20" + b"\0" * 32 + b"x"), "trailing bytes"),
        ("b" + "a" * 300, "too long"),
        ("bafkré", "non-ASCII"),
        ("../etc/passwd", "unknown multibase prefix"),
    ],
)
def test_parse_rejects_malformed_input_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Cid.parse(text)
    assert str(info.value).startswith("invalid CID")


def test_parse_can_allow_other_codecs() -> None:
    cbor = _b32(b"\x01\x71\x12\x20" + b"\0" * 32)
    assert Cid.parse(cbor, codecs=None).codec == DAG_CBOR


def test_cid_invariants() -> None:
    with pytest.raises(ValueError, match="CIDv0 is always dag-pb"):
        Cid(0, RAW, b"\0" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        Cid(1, RAW, b"\0" * 31)
    with pytest.raises(ValueError, match="version"):
        Cid(2, RAW, b"\0" * 32)


def test_verify_checks_the_block_hash() -> None:
    cid = Cid.of_block(b"hello world", codec=RAW)
    assert str(cid) == HELLO_V1
    assert cid.verify(b"hello world")
    assert not cid.verify(b"hello world!")
