"""Our pure UnixFS importer and CAR exporter against a real IPFS daemon.

The daemon is the reference: for the same bytes, ``ipfs.unixfs.import_stream`` must name the
same root CID as ``ipfs add`` (v0; v1 with raw leaves, in base32), and a CAR exported by the
embedded backend must import into the daemon and read back byte for byte.
"""

from __future__ import annotations

import functools
import io
import random
from pathlib import Path

import pytest

from ipfs.backends.kubo import KuboBackend
from ipfs.unixfs import import_stream

CHUNK = 256 * 1024
SIZES = {
    "empty": 0,
    "one-byte": 1,
    "one-chunk": CHUNK,
    "chunk-plus-one": CHUNK + 1,
    "1MiB-plus-7": 1024 * 1024 + 7,
    "5MiB": 5 * 1024 * 1024,
    # One leaf more than a single node links (174), so the DAG needs a second level.
    "174-chunks-plus-one": 174 * CHUNK + 1,
}


@functools.cache
def _payload(size: int, seed: str = "crosscheck") -> bytes:
    return random.Random(f"{seed}-{size}").randbytes(size)


@pytest.mark.parametrize("cid_version", [0, 1])
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_import_stream_matches_the_daemon(
    kubo_backend: KuboBackend, size: int, cid_version: int
) -> None:
    data = _payload(size)
    ours = str(import_stream(io.BytesIO(data), cid_version=cid_version).cid)
    theirs = kubo_backend.add_only_hash(io.BytesIO(data), cid_version)
    assert ours == theirs, f"{size} B, CIDv{cid_version}: ours {ours} != daemon {theirs}"


@pytest.mark.parametrize("cid_version", [0, 1])
def test_exported_car_imports_into_the_daemon(
    kubo_backend: KuboBackend, tmp_path: Path, cid_version: int
) -> None:
    # Imported here so the CID crosscheck above still runs while embedded.py is missing.
    from ipfs.backends.embedded import EmbeddedBackend

    embedded = EmbeddedBackend(tmp_path)
    # Bytes the daemon has never seen, so everything cat returns came from the CAR.
    files = [_payload(1024 * 1024 + 7, seed=f"car-v{cid_version}"), _payload(1, seed="car-small")]
    cids = [embedded.add(io.BytesIO(data), cid_version=cid_version) for data in files]

    car = io.BytesIO()
    embedded.export_car(cids, car)
    car.seek(0)
    roots = kubo_backend.dag_import(car)

    assert sorted(roots) == sorted(cids)
    for cid, data in zip(cids, files, strict=True):
        assert b"".join(kubo_backend.cat(cid)) == data
