"""CARv1: byte-exact headers, streaming round trip, and hash checks on read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ipfs.backends.embedded import EmbeddedBackend
from ipfs.car import CarError, CarReader, CarWriter, encode_header, read_car
from ipfs.cid import RAW, Cid, encode_varint
from ipfs.unixfs import import_stream
from tests.ipfs.payloads import pattern

# The header of go-car/js-car's "carv1-basic" fixture: two dag-cbor roots.
BASIC_ROOTS = [
    "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
    "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
]
BASIC_HEADER = bytes.fromhex(
    "63a265726f6f747382d82a58250001711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102"
    "e1474dbc200fab8bd82a5825000171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266a"
    "b3e79df63a365b6776657273696f6e01"
)

# A complete CAR of "hello world\n" added as CIDv0 (QmT78zSu…), published as a test
# fixture elsewhere: CIDv0 root in the header, then the one dag-pb leaf.
HELLO_V0_CAR = bytes.fromhex(
    "38a265726f6f747381d82a582300122046d44814b9c5af141c3aaab7c05dc5e844ead5f91f12858b021e"
    "ba45768b4c0e6776657273696f6e0136122046d44814b9c5af141c3aaab7c05dc5e844ead5f91f12858b"
    "021eba45768b4c0e0a120802120c68656c6c6f20776f726c640a180c"
)

# go-car's TestEOFHandling fixture: one dag-cbor block, {"dog": true}... under its root.
GO_CAR_SINGLE = bytes.fromhex(
    "3aa265726f6f747381d82a58250001711220151fe9e73c6267a7060c6f6c4cca943c236f4b196723489608"
    "edb42a8b8fa80b6776657273696f6e012c01711220151fe9e73c6267a7060c6f6c4cca943c236f4b196723"
    "489608edb42a8b8fa80ba165646f646779f5"
)


def test_header_bytes_match_the_reference_fixture() -> None:
    roots = [Cid.parse(r, codecs=None) for r in BASIC_ROOTS]
    assert encode_header(roots) == BASIC_HEADER
    reader = CarReader(io.BytesIO(BASIC_HEADER))
    assert [str(r) for r in reader.roots] == BASIC_ROOTS
    assert list(reader) == []


def test_embedded_export_matches_a_reference_car(tmp_path: Path) -> None:
    store = EmbeddedBackend(tmp_path)
    cid = store.add(io.BytesIO(b"hello world\n"), cid_version=0)
    assert cid == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    out = io.BytesIO()
    store.export_car([cid], out)
    assert out.getvalue() == HELLO_V0_CAR


def test_reads_a_foreign_car() -> None:
    roots, blocks = read_car(io.BytesIO(GO_CAR_SINGLE))
    pairs = list(blocks)
    assert len(pairs) == 1
    assert pairs[0][0] == roots[0]
    assert pairs[0][1] == bytes.fromhex("a165646f646779f5")


@pytest.mark.parametrize("version", [0, 1])
def test_write_read_round_trip(version: int) -> None:
    blocks: dict[Cid, bytes] = {}
    result = import_stream(
        io.BytesIO(pattern(1000)),
        cid_version=version,
        chunk_size=100,
        on_block=lambda cid, parts: blocks.setdefault(cid, b"".join(parts)),
    )
    out = io.BytesIO()
    writer = CarWriter(out, [result.cid])
    for cid, block in blocks.items():
        # Parts are written without joining: split every block in two.
        writer.write_block(cid, (block[:3], memoryview(block)[3:]))
    out.seek(0)
    roots, read = read_car(out)
    assert roots == [result.cid]
    assert dict(read) == blocks


def _car(roots: list[Cid], sections: list[tuple[Cid, bytes]]) -> bytes:
    out = io.BytesIO()
    writer = CarWriter(out, roots)
    for cid, block in sections:
        writer.write_block(cid, block)
    return out.getvalue()


def test_tampered_block_is_rejected() -> None:
    cid = Cid.of_block(b"good bytes", codec=RAW)
    car = bytearray(_car([cid], [(cid, b"good bytes")]))
    car[-1] ^= 0x01
    _, blocks = read_car(io.BytesIO(bytes(car)))
    with pytest.raises(CarError, match=f"block {cid} does not match its hash"):
        list(blocks)


def test_truncated_and_malformed_archives_are_rejected() -> None:
    cid = Cid.of_block(b"data", codec=RAW)
    car = _car([cid], [(cid, b"data")])
    with pytest.raises(CarError, match="truncated"):
        list(CarReader(io.BytesIO(car[:-2])))
    with pytest.raises(CarError, match="empty CAR"):
        CarReader(io.BytesIO(b""))
    with pytest.raises(CarError, match="truncated"):
        CarReader(io.BytesIO(car[:10]))
    huge = encode_header([cid]) + encode_varint(1 << 40)
    with pytest.raises(CarError, match="out of range"):
        list(CarReader(io.BytesIO(huge)))
    bad_cid = encode_header([cid]) + encode_varint(5) + b"\x01\x55\x13\x01x"
    with pytest.raises(CarError, match="unsupported multihash"):
        list(CarReader(io.BytesIO(bad_cid)))


def test_carv2_and_wrong_versions_are_refused_by_name() -> None:
    # The CARv2 pragma: {"version": 2} as the first "header".
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    with pytest.raises(CarError, match="CARv2 is not supported"):
        CarReader(io.BytesIO(pragma))
    not_a_map = encode_varint(1) + b"\x01"
    with pytest.raises(CarError, match="not a map"):
        CarReader(io.BytesIO(not_a_map))
