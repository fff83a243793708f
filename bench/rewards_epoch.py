"""Benchmark: a real epoch close of a million allocations in PostgreSQL.

Run ``python -m bench.rewards_epoch [--quick] [--size N] [--repeat R] [--keep]``. A database
of its own (copied from a migrated template, ``bench._db``) gets one DAO, a dataset, ``size``
members (1,000,000; ``--quick``: 20,000) with seeded checksummed addresses and one unsettled
credit each, so the epoch has ``size`` allocations. Each round, in a fresh process:

* ``close``: ``rewards.services.epoch_close`` as the console calls it (read and lock the
  credits, allocate, build the tree, pin the dump and the inputs, store the tree and the
  allocation rows, sign), its wall time and peak RSS growth (VmHWM after a reset, minus VmRSS
  before; the process has imported everything and touched the database first);
* ``tree``, the same-run reference, in the same process afterwards: ``StandardMerkleTree.of``
  over the epoch's allocations read back from its rows (the bare tree build);
* ``keccak``: the keccak-256 calls that tree costs at least (one per address checksum, two
  per leaf, one per inner node) over bytes of the same sizes: the floor of any tree build here.

Between rounds the closed epoch is reopened (its allocations and tree rows deleted, its
credits unsettled), so every round closes the same epoch. Figures: medians of ``repeat`` (3)
rounds, ratios against the reference of the same round. Targets: the close ≤ 10 s and ≤ 200
MiB above the baseline. The JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._db import bench_env, create_database, drop_database, public_key
from bench._procs import reset_peak_rss, status_kib
from bench._report import emit
from bench._stats import spread_samples

SEED = 20_261_207
SIZE = 1_000_000
QUICK_SIZE = 20_000
TARGET_SECONDS = 10.0
TARGET_RSS_MIB = 200.0
ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "bench_rewards_epoch_template"
SLUG = "bench-epoch"


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _seed(size: int) -> None:
    """The DAO, its dataset and policy, ``size`` members and one credit each (COPY)."""
    from django.db import connection

    from datadao.models import User
    from datadao.services import dao_create, dataset_create
    from rewards.ethtypes import checksum_address
    from rewards.models import RewardPolicy

    rng = random.Random(f"{SEED}-{size}")
    creator = User.objects.create_user(checksum_address("0x" + "42" * 20))
    dao = dao_create(creator=creator, name="Bench epoch", slug=SLUG, token_symbol="TOK")
    schema = {"columns": [{"name": "x", "type": "int"}]}
    dataset = dataset_create(dao=dao, actor=None, name="Bench", slug="bench", kind="tabular",
                             schema=schema, license="CC-BY-4.0")  # fmt: skip
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1)
    addresses = {checksum_address("0x" + rng.randbytes(20).hex()) for _ in range(size)}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy("COPY datadao_user (password, is_superuser, address, display_name, "
                      "is_staff, is_active, date_joined) FROM STDIN") as copy:  # fmt: skip
            for address in sorted(addresses):
                copy.write(f"!\tf\t{address}\t\tf\tt\t2026-01-01T00:00:00Z\n".encode())
        cursor.execute(
            "INSERT INTO rewards_rewardentry (dao_id, dataset_id, account_id, amount, reason, "
            "source_type, source_id, created_at) SELECT %s, %s, u.id, "
            "1 + (u.id * 2654435761) %% 1000000000000000000000, 'contribution', "
            "'bench.credit', u.id::text, '2026-01-02T00:00:00Z' FROM datadao_user u "
            "WHERE u.id <> %s",
            [dao.pk, dataset.pk, creator.pk],
        )
        cursor.execute("ANALYZE")


def _reopen() -> None:
    """Undo the close of epoch 1, so the next round closes the same credits again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('rewards_epochtreechunk') IS NOT NULL")
        chunks = cursor.fetchone()[0]  # not in a schema from before stored trees
        for sql in (
            "DELETE FROM rewards_allocation",
            "DELETE FROM rewards_epochtreechunk" if chunks else "SELECT 1",
            "UPDATE rewards_rewardentry SET epoch_id = NULL",
            "DELETE FROM rewards_epoch WHERE number > 1",
            "UPDATE rewards_epoch SET status = 'open', closed_at = NULL, root = '', total = 0",
        ):
            cursor.execute(sql)
        cursor.execute("VACUUM ANALYZE rewards_allocation")


def _keccak_floor(n: int) -> float:
    """Seconds for the keccak-256 calls a tree of ``n`` values makes, over same-size bytes."""
    from rewards.keccak import keccak_256

    data = [os.urandom(64) for _ in range(min(n, 65_536))]
    start = time.perf_counter()
    done = 0
    while done < n:
        batch = data[: min(len(data), n - done)]
        for item in batch:
            keccak_256(item[:40])  # the address checksum (40 hex digits)
            keccak_256(keccak_256(item).digest())  # the leaf, hashed twice
            keccak_256(item)  # its share of inner nodes (n - 1 in all)
        done += len(batch)
    return time.perf_counter() - start


def _worker(env: dict[str, str]) -> dict[str, Any]:
    _django(env)
    from django.db import connection

    from datadao.models import DAO
    from rewards.merkle import StandardMerkleTree
    from rewards.models import Allocation, Epoch
    from rewards.services import epoch_close

    dao = DAO.objects.get(slug=SLUG)
    Epoch.objects.filter(dao=dao).count()  # connected, with the app's modules imported
    rss_before = reset_peak_rss()
    start = time.perf_counter()
    epoch = epoch_close(dao=dao, actor=None)
    close_s = time.perf_counter() - start
    rss_growth = max(0, status_kib("self", "VmHWM") - rss_before)
    values = [
        (a, int(v))
        for a, v in Allocation.objects.filter(epoch=epoch)
        .order_by("account")
        .values_list("account", "amount")
        .iterator(chunk_size=20_000)
    ]
    start = time.perf_counter()
    tree = StandardMerkleTree.of(values)
    tree_s = time.perf_counter() - start
    if tree.root != epoch.root:
        raise RuntimeError(f"the rebuilt root {tree.root} is not the signed one {epoch.root}")
    keccak_s = _keccak_floor(len(values))
    connection.close()
    return {
        "allocations": len(values),
        "close_seconds": close_s,
        "tree_seconds": tree_s,
        "keccak_seconds": keccak_s,
        "rss_growth_kib": rss_growth,
        "root": epoch.root,
    }


def _run(what: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.rewards_epoch", "--worker", what],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"{what} failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(size: int, repeat: int, keep: bool) -> dict[str, Any]:
    database = f"bench_rewards_epoch_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="bench-epoch-") as tmp:
        env = bench_env(
            database=database,
            broker_url="memory://",
            data_dir=Path(tmp),
            log_level="WARNING",
            REWARD_SIGNER_KEY=public_key("bench-rewards-epoch"),
            BENCH_EPOCH_SIZE=str(size),
        )
        drop_database(database)
        how = create_database(env, database, TEMPLATE)
        try:
            start = time.perf_counter()
            _run("seed", env)
            seed_s = time.perf_counter() - start
            print(f"seeded {size} members and credits in {seed_s:.1f}s ({how})", file=sys.stderr)
            rounds = []
            for round_no in range(1, repeat + 1):
                if round_no > 1:
                    _run("reopen", env)
                rounds.append(_run("close", env))
                r = rounds[-1]
                print(f"round {round_no}: close {r['close_seconds']:.2f}s, tree "
                      f"{r['tree_seconds']:.2f}s, keccak floor {r['keccak_seconds']:.2f}s, "
                      f"+{r['rss_growth_kib'] / 1024:.0f} MiB", file=sys.stderr)  # fmt: skip
        finally:
            if not keep:
                drop_database(database)
    if len({r["root"] for r in rounds}) != 1:
        raise RuntimeError("the rounds signed different roots")
    close = spread_samples([r["close_seconds"] for r in rounds])
    rss_mib = round(max(r["rss_growth_kib"] for r in rounds) / 1024, 1)
    return {
        "benchmark": "rewards_epoch",
        "allocations": rounds[0]["allocations"],
        "repeat": repeat,
        "repetitions": {"warmup": 0, "measured": repeat, "of": "fresh processes per close"},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "close_seconds": close,
        "tree_seconds": spread_samples([r["tree_seconds"] for r in rounds]),
        "keccak_floor_seconds": spread_samples([r["keccak_seconds"] for r in rounds]),
        "close_over_tree": spread_samples(
            [r["close_seconds"] / r["tree_seconds"] for r in rounds], 2
        ),
        "close_over_keccak_floor": spread_samples(
            [r["close_seconds"] / r["keccak_seconds"] for r in rounds], 2
        ),
        "peak_rss_growth_mib": rss_mib,
        "target": {
            "close_at_most_10s": close["median"] <= TARGET_SECONDS,
            "rss_at_most_200mib": rss_mib <= TARGET_RSS_MIB,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE} allocations")
    parser.add_argument("--size", type=int, help=f"allocations (default {SIZE})")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        env = dict(os.environ)
        if args.worker == "seed":
            _django(env)
            _seed(int(env["BENCH_EPOCH_SIZE"]))
            result: dict[str, Any] = {}
        elif args.worker == "reopen":
            _django(env)
            _reopen()
            result = {}
        else:
            result = _worker(env)
        print(json.dumps(result))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    size = args.size or (QUICK_SIZE if args.quick else SIZE)
    emit(run(size, args.repeat, args.keep), json_path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
