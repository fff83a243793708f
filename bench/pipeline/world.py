"""The Django side of the pipeline benchmark (after ``django.setup()``): a DAO with a member,
fresh datasets, submitting files as the upload handler does, and waiting until every
contribution is final."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._procs import Started
from bench.pipeline.config import FINAL, STALL_SECONDS


@dataclass
class World:
    """The DAO of the run, its owner and the member who contributes; a fresh dataset a round."""

    owner: Any
    member: Any
    dao: Any
    counter: int = 0

    def dataset(self, kind: str, schema: dict[str, Any], label: str) -> Any:
        from datadao.models import DatasetStatus
        from datadao.services import dataset_create, dataset_set_status

        self.counter += 1
        dataset = dataset_create(
            dao=self.dao,
            actor=self.owner,
            name=f"Bench {label} {self.counter}",
            slug=f"bench-{label}-{self.counter}",
            kind=kind,
            schema=schema,
            license="CC-BY-4.0",
        )
        return dataset_set_status(dataset=dataset, actor=self.owner, status=DatasetStatus.OPEN)


def make_world() -> World:
    from eth_account import Account

    from datadao.models import Role
    from datadao.services import dao_create, membership_add, user_get_or_create

    def address(label: str) -> str:
        return Account.from_key(hashlib.sha256(label.encode()).digest()).address

    owner, _ = user_get_or_create(address=address("datadao-bench-owner"))
    member, _ = user_get_or_create(address=address("datadao-bench-member"))
    dao = dao_create(creator=owner, name="Bench DAO", slug="bench", token_symbol="BNCH")
    membership_add(dao=dao, user=member, role=Role.CONTRIBUTOR, actor=owner)
    return World(owner=owner, member=member, dao=dao)


def stage(path: Path) -> Any:
    """Copy ``path`` into the staging folder, hashing it on the way, as the upload handler
    does with a request body (64 KiB chunks, Django's default)."""
    from contributions.uploads import StagedUpload, staging_dir

    fd, name = tempfile.mkstemp(prefix="upload-", dir=staging_dir())
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(65_536):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return StagedUpload(
        path=Path(name),
        sha256=digest.hexdigest(),
        size=size,
        client_name=path.name,
        client_content_type="",
    )


def submit(paths: list[Path], dataset: Any, member: Any) -> dict[str, float]:
    from contributions.services import contribution_receive

    staging = receiving = 0.0
    for path in paths:
        t0 = time.perf_counter()
        staged = stage(path)
        t1 = time.perf_counter()
        contribution_receive(dataset_id=dataset.pk, contributor=member, staged=staged)
        staging += t1 - t0
        receiving += time.perf_counter() - t1
    return {"stage_s": staging, "receive_s": receiving, "submit_s": staging + receiving}


def statuses(dataset_id: int) -> dict[str, int]:
    from django.db.models import Count

    from contributions.models import Contribution

    rows = (
        Contribution.objects.filter(dataset_id=dataset_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}


def wait_final(dataset_id: int, total: int, workers: list[Started], timeout: float) -> float:
    """Poll until all ``total`` contributions are final; fail on a dead worker, on no status
    change for STALL_SECONDS (a stuck stage) or after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_counts: dict[str, int] = {}
    last_change = time.monotonic()
    while True:
        counts = statuses(dataset_id)
        if sum(counts.get(s, 0) for s in FINAL) >= total:
            return time.perf_counter()
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} died:\n{worker.log()[-4000:]}")
        now = time.monotonic()
        if counts != last_counts:
            last_counts, last_change = counts, now
        elif now - last_change > STALL_SECONDS:
            raise RuntimeError(
                f"no progress for {STALL_SECONDS} s: {counts}\n{workers[0].log()[-4000:]}"
            )
        if now > deadline:
            raise RuntimeError(f"not final after {timeout:.0f} s: {counts}")
        time.sleep(0.1)
