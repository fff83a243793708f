"""The SDK's own CID and CAR code (datadao_client.cid, .car), held to the platform's pure
importer and CAR writer (ipfs.unixfs, ipfs.car) and to a real IPFS node: the SDK carries a
copy because it is installed without the platform, and this is what keeps the copy honest."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datadao_client.car import CarIndex
from datadao_client.cid import CHUNK_SIZE, MAX_LINKS, Cid, UnixfsHasher, cid_of_bytes
from datadao_client.errors import VerificationError
from ipfs.backends.kubo import KuboBackend
from ipfs.car import CarWriter
from ipfs.cid import Cid as PlatformCid
from ipfs.cid import b58encode
from ipfs.unixfs import cid_of_bytes as platform_cid_of_bytes
from ipfs.unixfs import import_stream

# The sizes where a UnixFS DAG changes shape: empty, one chunk, a full node of links, one more.
EDGES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, CHUNK_SIZE * MAX_LINKS + 1]


@pytest.mark.parametrize("size", EDGES)
@pytest.mark.parametrize("version", [0, 1])
def test_the_cid_of_bytes_is_the_platforms_at_every_dag_shape(size: int, version: int) -> None:
    data = random.Random(size).randbytes(size)
    assert cid_of_bytes(data, version) == platform_cid_of_bytes(data, version)


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3 * CHUNK_SIZE),
    cuts=st.lists(st.integers(min_value=0, max_value=3 * CHUNK_SIZE), max_size=6),
)
def test_the_cid_does_not_depend_on_how_a_download_is_split(data: bytes, cuts: list[int]) -> None:
    hasher = UnixfsHasher()
    start = 0
    for cut in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        hasher.update(data[start:cut])
        start = cut
    assert str(hasher.finish()) == platform_cid_of_bytes(data)


def test_cids_parse_and_print_as_the_platform_spells_them() -> None:
    for text in [platform_cid_of_bytes(b"x", 0), platform_cid_of_bytes(b"x", 1)]:
        cid = Cid.parse(text)
        assert str(cid) == text and cid.to_bytes() == PlatformCid.parse(text).to_bytes()
    # The base58btc spelling of a CIDv1 names the same CID.
    v1 = PlatformCid.parse(platform_cid_of_bytes(b"y"))
    assert Cid.parse("z" + b58encode(v1.to_bytes())).to_bytes() == v1.to_bytes()
    for bad, says in [("", "expected 'Qm…'"), ("xyz", "expected"), ("bafy!!", "invalid CID")]:
        with pytest.raises(ValueError, match=says):
            Cid.parse(bad)


def _car(tmp_path: Path, files: list[bytes], *, drop: int | None = None, flip: int | None = None):  # type: ignore[no-untyped-def]
    """A CAR written by the platform's writer over ``files``; ``drop`` leaves out the n-th
    block, ``flip`` corrupts one byte of it."""
    blocks: list[tuple[PlatformCid, bytes]] = []
    roots = [
        import_stream(
            io.BytesIO(data), on_block=lambda cid, parts: blocks.append((cid, b"".join(parts)))
        ).cid
        for data in files
    ]
    path = tmp_path / "release.car"
    with path.open("wb") as out:
        writer = CarWriter(out, roots)
        for number, (cid, block) in enumerate(blocks):
            if number == drop:
                continue
            if number == flip:
                block = bytes([block[0] ^ 1]) + block[1:]
            writer.write_block(cid, block)
    return path, [str(r) for r in roots]


def test_a_platform_car_reads_back_file_by_file(tmp_path: Path) -> None:
    files = [b"manifest", random.Random(1).randbytes(3 * CHUNK_SIZE + 5), b""]
    path, roots = _car(tmp_path, files)
    index = CarIndex.scan(path)
    assert [str(r) for r in index.roots] == roots
    for root, data in zip(roots, files, strict=True):
        assert b"".join(index.read_file(Cid.parse(root))) == data


def test_a_corrupt_block_fails_the_scan(tmp_path: Path) -> None:
    path, _ = _car(tmp_path, [random.Random(2).randbytes(CHUNK_SIZE + 9)], flip=0)
    with pytest.raises(VerificationError, match="does not hash to its CID"):
        CarIndex.scan(path)


def test_a_missing_block_fails_the_read(tmp_path: Path) -> None:
    path, [root] = _car(tmp_path, [random.Random(3).randbytes(2 * CHUNK_SIZE)], drop=1)
    index = CarIndex.scan(path)
    with pytest.raises(VerificationError, match="missing from the CAR"):
        b"".join(index.read_file(Cid.parse(root)))


def test_a_truncated_car_fails_the_scan(tmp_path: Path) -> None:
    path, _ = _car(tmp_path, [b"abc" * 1000])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(VerificationError, match="truncated CAR"):
        CarIndex.scan(path)


@pytest.mark.parametrize("version", [0, 1])
def test_the_cid_of_bytes_is_a_real_ipfs_nodes(kubo_backend: KuboBackend, version: int) -> None:
    data = random.Random(version).randbytes(2 * CHUNK_SIZE + 77)
    added = kubo_backend.add(io.BytesIO(data), cid_version=version, pin=False)
    assert cid_of_bytes(data, version) == added
