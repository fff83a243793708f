"""Benchmark: the near-duplicate search of scoring at a million fingerprints.

Run ``python -m bench.near_duplicates [--size N] [--queries Q] [--quick] [--keep] [--json
PATH]``. It makes a PostgreSQL database of its own (``bench_near``, copied from a migrated
template; dropped at the end unless ``--keep``) holding one image dataset with ``--size``
(1,000,000; ``--quick``: 20,000) accepted contributions and their perceptual hashes, and one
text dataset with as many MinHash signatures (128 values and the stored 1-bit sketch each),
written with COPY. The hashes and signatures are seeded random values: the search's cost does
not depend on what they hash, and planted near-duplicates give known answers.

Queries (``--queries``, 200; half for each field): for images, half a stored hash with 0–16
bits flipped, half a fresh random hash; for texts, half a stored signature with 0–50 % of its
128 values replaced (an estimated Jaccard similarity of 1–0.5 to it), half fresh. Measured
in this process, through the code a worker runs (``contributions.near``):

* ``cold``: the first search of each dataset, which reads its index from the database;
* ``image`` and ``text``: each query's search, warm (the index grown by its one statement, the
  verdict checked, a text's candidates read and compared on full signatures): p50/p95 ms;
* ``reference``: the search the index replaced, for 5 image and 5 text queries in the same
  run: the dataset's newest 200,000 fingerprints read in one statement (by ``seq``), then
  compared (vectorised) in Python; the ratio is the index's p50 over the reference's;
* ``recall``: against a brute-force comparison of each query with every stored value in
  memory: the share of image queries whose nearest distance is the brute force's (exact by
  construction), and of text queries with a neighbour at similarity 0.5 or more whose best
  similarity found is the brute force's. Target >= 0.99.
* the growth of this process's resident memory for both indexes.

The target is <= 5 ms per search at 1,000,000 of each. The JSON summary goes to stdout (and
``--json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._db import bench_env, create_database, drop_database, public_key
from bench._procs import status_kib
from bench._report import emit
from bench._stats import dist, spread

BENCH_DB = "bench_near"
TEMPLATE_DB = "bench_near_template"
FULL_SIZE = 1_000_000
QUICK_SIZE = 20_000
QUERIES = 200
REFERENCE_QUERIES = 5
REFERENCE_WINDOW = 200_000
TARGET_MS = 5.0
TARGET_RECALL = 0.99
PERMUTATIONS = 128


def _dataset(kind: str, dao: Any) -> Any:
    from datadao.services import dataset_create

    schema = {"media_types": ["image/png"] if kind == "image" else ["text/plain"]}
    return dataset_create(
        actor=None,
        dao=dao,
        name=f"near {kind}",
        slug=f"near-{kind}",
        kind="files",
        schema=schema,
        license="CC-BY-4.0",
    )


def _contributions(dataset_id: int, contributor: Any, size: int) -> np.ndarray:
    """``size`` accepted contributions, copies of one made by the ORM but for their hash and
    storage name, in one statement; their ids in order."""
    from django.db import connection

    from contributions.models import Contribution, Status

    model = Contribution.objects.create(
        dataset_id=dataset_id,
        contributor=contributor,
        sha256="0" * 64,
        size=10,
        storage_name=f"near-{dataset_id}-model",
        status=Status.ACCEPTED,
    )
    columns = [f.column for f in Contribution._meta.concrete_fields if f.column != "id"]
    made = {
        "sha256": "md5(%(d)s || '-' || i) || md5(i::text)",
        "storage_name": "'near-' || %(d)s || '-' || i",
    }
    select = [made.get(c, c) for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Contribution._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(select)} FROM {Contribution._meta.db_table}, "
            "generate_series(1, %(n)s) AS i WHERE id = %(model)s RETURNING id",
            {"d": dataset_id, "n": size - 1, "model": model.pk},
        )
        ids = [row[0] for row in cursor.fetchall()]
    return np.sort(np.array([model.pk, *ids], dtype=np.int64))


def _copy_fingerprints(dataset_id: int, owners: np.ndarray, columns: dict[str, Any]) -> None:
    from django.db import connection

    from contributions.models import Fingerprint

    names = ["contribution_id", "dataset_id", "seq", *columns]
    with connection.cursor() as cursor:
        raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
        sql = f"COPY {Fingerprint._meta.db_table} ({', '.join(names)}) FROM STDIN"
        with raw.copy(sql) as copy:
            for i, owner in enumerate(owners.tolist()):
                row = [owner, dataset_id, i + 1, *(values[i] for values in columns.values())]
                copy.write_row(row)


def _build(size: int, rng: np.random.Generator) -> dict[str, Any]:
    from contributions.nearindex import minhash_sketch
    from datadao.models import User
    from datadao.services import dao_create

    contributor = User.objects.create_user(address="0x" + "11" * 20)
    dao = dao_create(creator=contributor, name="Near DAO", slug="near", token_symbol="NEAR")
    image, text = _dataset("image", dao), _dataset("text", dao)
    started = time.perf_counter()
    hashes = rng.integers(-(2**63), 2**63 - 1, size=size, dtype=np.int64)
    image_owners = _contributions(image.pk, contributor, size)
    _copy_fingerprints(image.pk, image_owners, {"phash": hashes.tolist()})
    signatures = rng.integers(0, 2**64 - 1, size=(size, PERMUTATIONS), dtype=np.uint64)
    text_owners = _contributions(text.pk, contributor, size)
    blobs = [row.tobytes() for row in signatures]
    _copy_fingerprints(
        text.pk, text_owners, {"minhash": blobs, "sketch": [minhash_sketch(b) for b in blobs]}
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contributions_fingerprint")
    return {
        "image": (image.pk, image_owners, hashes),
        "text": (text.pk, text_owners, signatures),
        "build_s": round(time.perf_counter() - started, 1),
    }


def _image_queries(hashes: np.ndarray, count: int, rng: np.random.Generator) -> list[int]:
    queries = []
    for i in range(count):
        if i % 2:
            queries.append(int(rng.integers(-(2**63), 2**63 - 1, dtype=np.int64)))
            continue
        value = int(hashes[int(rng.integers(len(hashes)))]) & ((1 << 64) - 1)
        for bit in rng.choice(64, size=int(rng.integers(0, 17)), replace=False):
            value ^= 1 << int(bit)
        queries.append(value - (1 << 64) if value >= (1 << 63) else value)
    return queries


def _text_queries(signatures: np.ndarray, count: int, rng: np.random.Generator) -> list[bytes]:
    queries = []
    for i in range(count):
        if i % 2:
            queries.append(rng.integers(0, 2**64 - 1, size=PERMUTATIONS, dtype=np.uint64).tobytes())
            continue
        row = signatures[int(rng.integers(len(signatures)))].copy()
        replaced = rng.choice(PERMUTATIONS, size=int(rng.integers(0, PERMUTATIONS // 2 + 1)))
        row[replaced] = rng.integers(0, 2**64 - 1, size=len(replaced), dtype=np.uint64)
        queries.append(row.tobytes())
    return queries


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def _reference(dataset_id: int, field: str, query: Any) -> float:
    """The windowed search: the newest 200,000 fingerprints read, then compared."""
    from contributions import scoring
    from contributions.models import Fingerprint

    started = time.perf_counter()
    rows = list(
        Fingerprint.objects.filter(dataset_id=dataset_id, **{f"{field}__isnull": False})
        .order_by("-seq")
        .values_list("contribution_id", field)[:REFERENCE_WINDOW]
    )
    if field == "phash":
        scoring.nearest_hamming(query, np.array([v for _, v in rows], dtype=np.int64))
    else:
        scoring.nearest_jaccard(query, [bytes(v) for _, v in rows])
    return (time.perf_counter() - started) * 1000


def _ms(values: list[float]) -> dict[str, Any]:
    """p50/p95/p99 (nearest rank), mean and max in ms, and the median/min/max spread."""
    return {k: round(v, 3) for k, v in dist(values).items()} | {"spread": spread(values, 3)}


def run(size: int, queries: int, rng: np.random.Generator) -> dict[str, Any]:
    from contributions import near, scoring

    world = _build(size, rng)
    image_id, _, hashes = world["image"]
    text_id, _, signatures = world["text"]
    rss_before = status_kib("self", "VmRSS")
    _, cold_image = _timed(near.image_nearest, image_id, 0, exclude=0, threshold=6)
    _, cold_text = _timed(
        near.text_nearest, text_id, signatures[0].tobytes(), exclude=0, threshold=0.8
    )
    rss_growth = status_kib("self", "VmRSS") - rss_before

    image_ms, image_hits = [], 0
    image_queries = _image_queries(hashes, queries // 2, rng)
    unsigned = hashes.view(np.uint64)
    for query in image_queries:
        found, ms = _timed(near.image_nearest, image_id, query, exclude=0, threshold=6)
        image_ms.append(ms)
        brute = int(np.bitwise_count(unsigned ^ np.uint64(query & ((1 << 64) - 1))).min())
        image_hits += found.distance == brute

    text_ms, text_hits, text_near = [], 0, 0
    for query in _text_queries(signatures, queries // 2, rng):
        found, ms = _timed(near.text_nearest, text_id, query, exclude=0, threshold=0.8)
        text_ms.append(ms)
        mine = np.frombuffer(query, dtype=np.uint64)
        best = 0.0
        for start in range(0, len(signatures), 100_000):
            block = signatures[start : start + 100_000]
            best = max(best, float((block == mine).mean(axis=1).max()))
        if best >= 0.5:
            text_near += 1
            text_hits += abs(found.similarity - best) < 1e-12

    reference_image = [_reference(image_id, "phash", q) for q in image_queries[:REFERENCE_QUERIES]]
    reference_text = [
        _reference(text_id, "minhash", scoring.text_minhash(f"reference {i}"))
        for i in range(REFERENCE_QUERIES)
    ]
    image_spread, text_spread = _ms(image_ms), _ms(text_ms)
    ref_image, ref_text = _ms(reference_image), _ms(reference_text)
    return {
        "size": size,
        "build_s": world["build_s"],
        "cold_ms": {"image": round(cold_image, 1), "text": round(cold_text, 1)},
        "index_rss_growth_mib": round(rss_growth / 1024, 1),
        "image": image_spread,
        "text": text_spread,
        "reference_window": REFERENCE_WINDOW,
        "reference": {"image": ref_image, "text": ref_text},
        "ratio_vs_reference": {
            "image": round(image_spread["p50"] / ref_image["p50"], 4),
            "text": round(text_spread["p50"] / ref_text["p50"], 4),
        },
        "recall": {
            "image": round(image_hits / len(image_queries), 4),
            "image_queries": len(image_queries),
            "text": round(text_hits / text_near, 4) if text_near else None,
            "text_queries_with_a_neighbour": text_near,
        },
        "repetitions": {"measured": queries, "of": "searches, each its own query"},
        "target": {"p95_ms_max": TARGET_MS, "recall_min": TARGET_RECALL, "at_size": FULL_SIZE},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.near_duplicates", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    size = args.size or (QUICK_SIZE if args.quick else FULL_SIZE)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-near-"))
    env = bench_env(
        database=BENCH_DB,
        broker_url="memory://",
        data_dir=data_dir,
        log_level="WARNING",
        VALIDATOR_KEY=public_key("datadao-bench-near-validator"),
        REWARD_SIGNER_KEY=public_key("datadao-bench-near-rewards"),
    )
    drop_database(BENCH_DB)
    how = create_database(env, BENCH_DB, TEMPLATE_DB)
    os.environ.update(env)
    import django

    django.setup()
    try:
        summary = run(size, args.queries, np.random.default_rng(20261207)) | {"database": how}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(BENCH_DB)
    human = (
        f"near-duplicates at {size:,}: image p50 {summary['image']['p50']} ms p95 "
        f"{summary['image']['p95']} ms; text p50 {summary['text']['p50']} ms p95 "
        f"{summary['text']['p95']} ms; recall image {summary['recall']['image']}, text "
        f"{summary['recall']['text']}; vs the 200k window read: image "
        f"{summary['ratio_vs_reference']['image']}x, text {summary['ratio_vs_reference']['text']}x"
    )
    emit(summary, json_path=args.json, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
