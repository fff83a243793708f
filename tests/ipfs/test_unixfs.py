"""The UnixFS importer names files exactly as Kubo does, streams, and reads back."""

from __future__ import annotations

import hashlib
import io
import random
import tracemalloc
from pathlib import Path

import pytest

from ipfs.backends.embedded import EmbeddedBackend
from ipfs.cid import DAG_PB, RAW, Cid
from ipfs.dagpb import UNIXFS_DIRECTORY, UNIXFS_FILE, DagPbError
from ipfs.unixfs import (
    CHUNK_SIZE,
    MAX_LINKS,
    NotAFile,
    UnixfsError,
    cid_of_bytes,
    decode_dag_pb,
    decode_unixfs_data,
    import_stream,
    iter_file,
)
from tests.ipfs.payloads import PatternStream, pattern

# Single-chunk files, default settings. Sources: the task brief (hello world, empty),
# Kubo's own sharness fixtures (hello\n), and published `ipfs add` outputs.
KNOWN = [
    (b"hello world", 0, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
    (b"hello world", 1, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    (b"", 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"", 1, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (b"hello world\n", 0, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"hello world\n", 1, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    (b"hello\n", 0, "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"),
    (b"hello\n", 1, "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"),
    (b"foobar\n", 0, "QmRgutAxd8t7oGkSm4wmeuByG6M51wcTso6cubDdQtuEfL"),
    (b"a" * 31337, 0, "Qmbq6rxwg5uKYAEhdFvPnBqzbJWAPfhB4LwF4yGamvzWSR"),
]

# Multi-chunk layouts with Kubo's `--chunker=size-N` (captured from kubo 0.40.1 by the
# rust-unixfs interop suite). 400 one-byte chunks need a second tree level (174 + 174 + 52).
KUBO_SMALL_CHUNKS = [
    (b"foobar\n", 2, 0, "QmRJHYTNvC3hmd9gJQARxLR1QMEincccBV53bBw524yyq6"),
    (b"foobar\n", 2, 1, "bafybeiakabo5d5e25jzw2i32mymsnwyuoaqozkjfkqibnvodyxna6nuanm"),
    (bytes(1000), 7, 0, "QmNgDVWgrTpUEmxAeutigwykfU2bKjjEGFzvknzptoqAUN"),
    (bytes(1000), 7, 1, "bafybeia3u4lcsbc6ijwivdukvlougvli4rm73r65chivjsl5l7vemqclhy"),
    (b"a" * 400, 1, 0, "QmccZ7Tar96JCFFSXcBQwjP847Zt2ezVWmDb5rFj7wPL1U"),
    (b"a" * 400, 1, 1, "bafybeiajemq5ovepy7fc56ifhtn6aoctbkgxcqav44zg2bjkrfwvlbnewu"),
]

# The root block go-ipfs 0.5 wrote for "foobar\n" with size-2 chunks (rust-unixfs fixture):
# four links with an empty Name, then File data with filesize 7 and unpacked blocksizes.
FOOBAR_C2_ROOT = bytes.fromhex(
    "12280a221220fef9fe1804942b35e19e145a03f9c9d5ca9c997dda0a9416f3f515a52f1b3ce11200180a"
    "12280a221220dfb94b75acb208fd4873d84872af58bd65c731770a7d4c0deeb4088e87390bfe1200180a"
    "12280a221220054497ae4e89812c83276a48e3e679013a788b7c0eb02712df15095c02d6cd2c1200180a"
    "12280a221220cc332ceb37dea7d3d7c00d1393117638d3ed963575836c6d44a24951e444cf5d12001809"
    "0a0c080218072002200220022001"
)

# Pattern payloads (tests/ipfs/payloads.py) at default settings, and one with 1-byte chunks
# that needs three levels (174*174 + 1 leaves). Computed with ipfs-unixfs-importer 17.1.1
# (the importer js-ipfs/Helia use) at chunk 262144, 174 links, raw leaves for v1 only;
# the tsize column is its reported cumulative DAG size.
PATTERN = [
    (1, CHUNK_SIZE, 0, "QmboLZtGz8oLt5vaHpWCoFAbYbTueVmE48GEwBFUvrJS9g", 9),
    (1, CHUNK_SIZE, 1, "bafkreic2nz5eovfprz7up7eusmca3bj6pma6hhktpsy52nj4so324whlhu", 1),
    (CHUNK_SIZE, CHUNK_SIZE, 0, "Qmd97mQS4bb778er9ZXfHBVKouKkLVqA22VsQaGCByn2Dz", 262158),
    (
        CHUNK_SIZE,
        CHUNK_SIZE,
        1,
        "bafkreialuycfom5ehxoqmjvrhxmtfwq6gp4mmwoei53fxpnbcfhwetkby4",
        262144,
    ),
    (CHUNK_SIZE + 1, CHUNK_SIZE, 0, "QmWBGvz3wQHyiSX2bW69MD1moArNJJnGNZnfqGsutgBTRu", 262267),
    (
        CHUNK_SIZE + 1,
        CHUNK_SIZE,
        1,
        "bafybeieze24rc76p2zetkbkbvqzbhaa5aozldocwypy2osee2vz7du6dv4",
        262249,
    ),
    (2**20 + 7, CHUNK_SIZE, 0, "QmdbmxtsBtnvny18eSETdV2RmYWC6uunBrFYPPggrade4G", 1048891),
    (
        2**20 + 7,
        CHUNK_SIZE,
        1,
        "bafybeibjt33jziqd3er334bbyh5cqazy265xnwiguna7eps3pbluhxjs2e",
        1048837,
    ),
    (174 * CHUNK_SIZE, CHUNK_SIZE, 0, "QmScFuzBV8x3zWz13uhUvQbdpJ9Js5va9B3obY9kCphmMd", 45623854),
    (
        174 * CHUNK_SIZE,
        CHUNK_SIZE,
        1,
        "bafybeidtrxusmrpjf7so463zbe3eq6mdpkq4sj4v5hxqrqvhdkk73v7pn4",
        45621766,
    ),
    (
        174 * CHUNK_SIZE + 1,
        CHUNK_SIZE,
        0,
        "QmWkjkwL4SiCKYAqitAPLuVpvnjJSS31ABZ5iSJai1Digi",
        45624016,
    ),
    (
        174 * CHUNK_SIZE + 1,
        CHUNK_SIZE,
        1,
        "bafybeicsco2xghju4kmgfexwa7codll4dwefah53z2nlmvt66nrpnan25i",
        45621926,
    ),
    (174 * 174 + 1, 1, 0, "QmRFLxrCqJVy2g57VzwE6bZ5vddZYKqfM56Ubd6bJKHX2B", 1614242),
    (174 * 174 + 1, 1, 1, "bafybeid44ccpw2aco6mkg6klvmosxfgr3h3m6ehhghw76sgzpwlgakdny4", 1432934),
]


@pytest.mark.parametrize(("data", "version", "expected"), KNOWN)
def test_known_single_chunk_cids(data: bytes, version: int, expected: str) -> None:
    assert cid_of_bytes(data, version) == expected


@pytest.mark.parametrize(("data", "chunk", "version", "expected"), KUBO_SMALL_CHUNKS)
def test_kubo_balanced_layout_with_small_chunks(
    data: bytes, chunk: int, version: int, expected: str
) -> None:
    result = import_stream(io.BytesIO(data), cid_version=version, chunk_size=chunk)
    assert str(result.cid) == expected
    assert result.size == len(data)


def test_root_block_bytes_match_go_ipfs() -> None:
    blocks: dict[Cid, bytes] = {}
    result = import_stream(
        io.BytesIO(b"foobar\n"),
        cid_version=0,
        chunk_size=2,
        on_block=lambda cid, parts: blocks.setdefault(cid, b"".join(parts)),
    )
    assert blocks[result.cid] == FOOBAR_C2_ROOT


@pytest.mark.parametrize(("size", "chunk", "version", "expected", "tsize"), PATTERN)
def test_pattern_payloads_match_the_js_importer(
    size: int, chunk: int, version: int, expected: str, tsize: int
) -> None:
    result = import_stream(PatternStream(size), cid_version=version, chunk_size=chunk)
    assert (str(result.cid), result.tsize, result.size) == (expected, tsize, size)


def test_single_chunk_file_is_its_leaf() -> None:
    v1 = import_stream(io.BytesIO(b"x" * CHUNK_SIZE), cid_version=1)
    assert (v1.cid.codec, v1.blocks) == (RAW, 1)
    v0 = import_stream(io.BytesIO(b"x" * CHUNK_SIZE), cid_version=0)
    assert (v0.cid.version, v0.cid.codec, v0.blocks) == (0, DAG_PB, 1)


def test_a_full_node_plus_one_leaf_wraps_the_lone_leaf() -> None:
    # 175 chunks: root -> [node(174 leaves), node(1 leaf)], as Kubo's fillNodeRec builds it.
    blocks: dict[Cid, bytes] = {}
    data = pattern(175 * 3)
    result = import_stream(
        io.BytesIO(data),
        chunk_size=3,
        on_block=lambda cid, parts: blocks.setdefault(cid, b"".join(parts)),
    )
    links, _ = decode_dag_pb(blocks[result.cid])
    assert len(links) == 2
    second, _ = decode_dag_pb(blocks[links[1].cid])
    assert len(second) == 1 and second[0].cid.codec == RAW


def test_on_block_sees_each_distinct_block_once_children_first() -> None:
    seen: list[tuple[Cid, bytes]] = []
    # Four identical zero chunks plus one distinct tail: 3 distinct blocks, 6 in the DAG.
    data = bytes(4 * CHUNK_SIZE) + b"tail"
    result = import_stream(
        io.BytesIO(data), on_block=lambda cid, parts: seen.append((cid, b"".join(parts)))
    )
    cids = [cid for cid, _ in seen]
    assert len(cids) == len(set(cids)) == 3
    assert result.blocks == 6
    assert cids[-1] == result.cid
    for cid, block in seen:
        assert hashlib.sha256(block).digest() == cid.digest
    links, _ = decode_dag_pb(seen[-1][1])
    assert {link.cid for link in links} <= set(cids[:-1])


@pytest.mark.parametrize("version", [0, 1])
def test_tsize_is_the_sum_of_serialized_blocks(version: int) -> None:
    total = 0

    def count(cid: Cid, parts: object) -> None:
        nonlocal total
        total += sum(len(p) for p in parts)  # type: ignore[attr-defined]

    # Random bytes, so no 5-byte chunk repeats and none is deduplicated away from the sum.
    data = random.Random(7).randbytes(700 * 5)
    result = import_stream(io.BytesIO(data), chunk_size=5, cid_version=version, on_block=count)
    assert result.tsize == total


def test_internal_node_encodes_links_blocksizes_and_filesize() -> None:
    blocks: dict[Cid, bytes] = {}
    result = import_stream(
        io.BytesIO(pattern(2 * CHUNK_SIZE + 10)),
        on_block=lambda cid, parts: blocks.setdefault(cid, b"".join(parts)),
    )
    links, data = decode_dag_pb(blocks[result.cid])
    assert data is not None
    node = decode_unixfs_data(data)
    assert node.type == UNIXFS_FILE
    assert node.filesize == 2 * CHUNK_SIZE + 10
    assert node.blocksizes == (CHUNK_SIZE, CHUNK_SIZE, 10)
    assert [link.name for link in links] == ["", "", ""]
    assert [link.tsize for link in links] == [CHUNK_SIZE, CHUNK_SIZE, 10]


@pytest.mark.parametrize("version", [0, 1])
def test_short_reads_and_read_only_streams_chunk_identically(version: int) -> None:
    expected = import_stream(PatternStream(3 * CHUNK_SIZE + 5), cid_version=version).cid
    short = PatternStream(3 * CHUNK_SIZE + 5, max_read=1000)
    assert import_stream(short, cid_version=version).cid == expected

    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(min(n, 777))

    only_read = ReadOnly(pattern(3 * CHUNK_SIZE + 5))
    assert import_stream(only_read, cid_version=version).cid == expected  # type: ignore[arg-type]


def test_only_hash_memory_is_flat() -> None:
    size = 64 * 1024 * 1024
    stream = PatternStream(size)
    tracemalloc.start()
    try:
        result = import_stream(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == size
    # One 256 KiB chunk buffer, one 64 KiB pattern block and link bookkeeping.
    assert peak < 2 * 1024 * 1024, f"peak {peak} B for a {size} B stream"


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2**20 + 7, MAX_LINKS * CHUNK_SIZE + 1]
)
def test_round_trip_through_the_embedded_store(tmp_path: Path, size: int, version: int) -> None:
    store = EmbeddedBackend(tmp_path)
    cid = store.add(PatternStream(size), cid_version=version)
    assert cid == str(import_stream(PatternStream(size), cid_version=version).cid)
    digest = hashlib.sha256()
    total = 0
    for piece in store.cat(cid):
        digest.update(piece)
        total += len(piece)
    assert total == size
    assert digest.digest() == hashlib.sha256(pattern(size)).digest()


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cid_version"):
        import_stream(io.BytesIO(b""), cid_version=2)
    with pytest.raises(ValueError, match="max_links"):
        import_stream(io.BytesIO(b""), max_links=1)


# --- decoding -------------------------------------------------------------------------


def test_decode_dag_pb_enforces_the_spec() -> None:
    link = FOOBAR_C2_ROOT[:42]
    data = FOOBAR_C2_ROOT[-14:]
    assert len(decode_dag_pb(link + data)[0]) == 1
    with pytest.raises(DagPbError, match="Links after Data"):
        decode_dag_pb(data + link)
    with pytest.raises(DagPbError, match="duplicate"):
        decode_dag_pb(data + data)
    with pytest.raises(DagPbError, match="unknown PBNode field"):
        decode_dag_pb(b"\x1a\x00")
    with pytest.raises(DagPbError, match="truncated"):
        decode_dag_pb(link[:-3])
    with pytest.raises(DagPbError, match="without Hash"):
        decode_dag_pb(b"\x12\x02\x18\x01")


def test_decode_unixfs_accepts_packed_blocksizes_and_skips_unknown_fields() -> None:
    packed = bytes.fromhex("0802") + b"\x22\x03\x01\x02\x03" + b"\x30\x05"
    node = decode_unixfs_data(packed)
    assert (node.type, node.blocksizes, node.filesize) == (UNIXFS_FILE, (1, 2, 3), None)
    with pytest.raises(DagPbError, match="without Type"):
        decode_unixfs_data(b"\x18\x01")


def test_iter_file_refuses_directories_and_inconsistent_sizes() -> None:
    directory = b"\x0a\x02\x08" + bytes((UNIXFS_DIRECTORY,))
    dir_cid = Cid.of_block(directory, codec=DAG_PB)
    with pytest.raises(NotAFile):
        list(iter_file(dir_cid, lambda cid: directory))

    # A leaf claiming 5 bytes of file while holding 3.
    lying = b"\x0a\x09\x08\x02\x12\x03abc\x18\x05"
    lying_cid = Cid.of_block(lying, codec=DAG_PB)
    with pytest.raises(UnixfsError, match="declares 5 bytes"):
        list(iter_file(lying_cid, lambda cid: lying))
