"""Benchmark: replaying a release (``datadao verify``) against the pipeline that made it.

Run ``python -m bench.replay [--quick] [--contributions N] [--keep] [--json PATH]``. It makes a
PostgreSQL database of its own (``bench_replay``, copied from a migrated template; dropped at the
end unless ``--keep``) and an embedded IPFS store in a temporary ``DATA_DIR``, then, 5 rounds
after a warm-up, each on a fresh tabular dataset with a reward policy:

* ``pipeline``: ``--contributions`` (``--quick``: 30; else 200) CSV files of 20 rows each
  received (``contribution_receive``) and taken through every stage of the pipeline in this
  process, one after another (validate, score, attest, pin: ``contributions.lanes.stages``, the
  code a worker runs for each task), then a reward epoch closed and the release published: the
  contributions per second the platform made the release at, in one process;
* ``replay``: ``datadao_verify.verify_release`` of that release from the same store, in one
  thread (``--jobs 1``: the like-for-like counterpart of the one-process pipeline) and with
  the verifier's default of ``min(8, CPUs)`` threads: manifest, every block hashed, validation
  and scoring re-run, every attestation recovered, the epoch's root replayed.

Figures are contributions per second, median/min/max over the rounds, and the ratio of the
replay's rate to the pipeline's in the same round. Every replay must be clean (the benchmark
fails otherwise). The JSON summary goes to stdout (and ``--json``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._db import bench_env, create_database, drop_database, public_key
from bench._report import emit
from bench._stats import ratio_spread, spread

BENCH_DB = "bench_replay"
TEMPLATE_DB = "bench_replay_template"
ROUNDS = 5
ROWS = 20
SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
    ],
    "max_size": 1_000_000,
}


def _csv(start: int) -> bytes:
    lines = ["id,value,kind"] + [
        f"{i},{i % 100}.5,{'ab'[i % 2]}" for i in range(start, start + ROWS)
    ]
    return ("\n".join(lines) + "\n").encode()


def _world() -> tuple[Any, Any, Any]:
    from eth_account import Account

    from datadao.models import Role
    from datadao.services import dao_create, membership_add, user_get_or_create

    def address(label: str) -> str:
        return Account.from_key(hashlib.sha256(label.encode()).digest()).address

    owner, _ = user_get_or_create(address=address("datadao-bench-replay-owner"))
    member, _ = user_get_or_create(address=address("datadao-bench-replay-member"))
    dao = dao_create(creator=owner, name="Replay DAO", slug="replay", token_symbol="RPL")
    membership_add(dao=dao, user=member, role=Role.CONTRIBUTOR, actor=owner)
    return owner, member, dao


def _publish(owner: Any, member: Any, dao: Any, count: int, label: int, workdir: Path) -> Any:
    """A fresh dataset with ``count`` contributions made by the stage lane, its epoch closed
    and its release published; (release, seconds the pipeline took)."""
    from bench.pipeline.world import stage
    from contributions import services
    from contributions.lanes import stages
    from contributions.releases import release_publish
    from datadao.models import DatasetStatus
    from datadao.services import dataset_create, dataset_set_status
    from rewards.models import RewardPolicy
    from rewards.services import epoch_close

    dataset = dataset_create(
        dao=dao,
        actor=owner,
        name=f"Replay {label}",
        slug=f"replay-{label}",
        kind="tabular",
        schema=SCHEMA,
        license="CC-BY-4.0",
    )
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000, per_row=10)
    dataset = dataset_set_status(dataset=dataset, actor=owner, status=DatasetStatus.OPEN)
    files = []
    for i in range(count):
        path = workdir / f"{label}-{i}.csv"
        path.write_bytes(_csv(label * 1_000_000 + i * ROWS))
        files.append(path)
    run = (
        ("validate", stages.run_validation),
        ("score", stages.run_scoring),
        ("attest", stages.run_attestation),
        ("pin", stages.run_pin),
    )
    started = time.perf_counter()
    for path in files:
        received = services.contribution_receive(
            dataset_id=dataset.pk, contributor=member, staged=stage(path)
        )
        for name, step in run:
            contribution = services.contribution_begin(contribution_id=received.pk, stage=name)
            if contribution is None:
                raise RuntimeError(f"contribution {received.pk} stopped before {name}")
            step(contribution, send_next=False)
    epoch_close(dao=dao, actor=owner)
    release = release_publish(dataset=dataset, actor=owner)
    seconds = time.perf_counter() - started
    if release.contributions_count != count:
        raise RuntimeError(f"the release lists {release.contributions_count} of {count}")
    return release, seconds


def _replay(cid: str, store: Path, jobs: int) -> float:
    from datadao_verify.fetch import source_for
    from datadao_verify.replay import Options, verify_release

    report = verify_release(cid, source_for(str(store)), Options(jobs=jobs))
    if not report.clean:
        lines = [f.line() for f in report.discrepancies[:5]]
        raise RuntimeError(f"the replay of {cid} is not clean: {lines}")
    if report.replayed != report.contributions or report.epochs_checked != 1:
        raise RuntimeError(f"the replay of {cid} checked less than it should: {report.to_dict()}")
    return report.seconds


def run(quick: bool, count: int, data_dir: Path) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings

    store = Path(settings.IPFS_EMBEDDED_ROOT)
    threads = min(8, os.cpu_count() or 1)
    owner, member, dao = _world()
    pipeline: list[float] = []
    single: list[float] = []
    threaded: list[float] = []
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        for r in range(ROUNDS + 1):
            release, made = _publish(owner, member, dao, count, r, Path(work))
            one = _replay(release.cid, store, 1)
            many = _replay(release.cid, store, threads)
            if r == 0:
                continue  # warm-up
            pipeline.append(count / made)
            single.append(count / one)
            threaded.append(count / many)
    return {
        "benchmark": "replay",
        "quick": quick,
        "repetitions": {"measured": ROUNDS, "warmup": 1, "of": "pipeline + replay rounds"},
        "contributions": count,
        "rows_per_contribution": ROWS,
        "threads": threads,
        "pipeline_per_s": spread(pipeline, 1),
        "replay_per_s": spread(single, 1),
        "replay_threaded_per_s": spread(threaded, 1),
        "replay_vs_pipeline": ratio_spread(single, pipeline, 2),
        "replay_threaded_vs_pipeline": ratio_spread(threaded, pipeline, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replay", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--contributions", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    count = args.contributions or (30 if args.quick else 200)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    env = bench_env(
        database=BENCH_DB,
        broker_url="memory://",
        data_dir=data_dir,
        log_level="WARNING",
        VALIDATOR_KEY=public_key("datadao-bench-replay-validator"),
        REWARD_SIGNER_KEY=public_key("datadao-bench-replay-rewards"),
        IPFS_BACKEND="embedded",
        CONTRIBUTIONS_PER_HOUR=str(count * (ROUNDS + 2)),
        UPLOAD_BACKPRESSURE_SECONDS="0",
    )
    drop_database(BENCH_DB)
    how = create_database(env, BENCH_DB, TEMPLATE_DB)
    os.environ.update(env)
    try:
        summary = run(args.quick, count, data_dir) | {"database": how}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(BENCH_DB)
    human = (
        f"pipeline (one process): {summary['pipeline_per_s']['median']} contributions/s; "
        f"replay: {summary['replay_per_s']['median']}/s in one thread "
        f"({summary['replay_vs_pipeline']['median']}x), "
        f"{summary['replay_threaded_per_s']['median']}/s in {summary['threads']} "
        f"({summary['replay_threaded_vs_pipeline']['median']}x)"
    )
    emit(summary, json_path=args.json, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
