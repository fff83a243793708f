"""The demo's wine dataset learns from pinned rows: after the demo loads, as ``bin/run`` loads it
(before its worker starts), the demo's own job and a job started like one from the console run
to the end on a real worker, waiting for the rows the worker is still pinning instead of
failing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from contributions.models import Contribution, Status
from synthetic import services
from synthetic.demo import DEMO_SLUG, WINE_FILES
from synthetic.inputs import uploads_awaited
from synthetic.models import JobStatus, SyntheticJob
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for

FINISHED = (JobStatus.PUBLISHED, JobStatus.REJECTED_BY_GATE, JobStatus.FAILED)


@pytest.mark.usefixtures("transactional_db")
def test_jobs_on_the_demo_wine_dataset_run_right_after_the_demo_loads(tmp_path: Path) -> None:
    call_command("demo")
    demo_job = SyntheticJob.objects.get(dataset__slug=DEMO_SLUG)
    # Two epochs instead of early stopping's hundreds: the same path, in test time.
    SyntheticJob.objects.filter(pk=demo_job.pk).update(epochs=2)
    wine = demo_job.dataset
    # The rows are the dataset's own contributions, not a file beside the job.
    assert not demo_job.input_name
    contributions = Contribution.objects.filter(dataset=wine)
    assert contributions.count() == len(WINE_FILES)
    # Started before the worker has pinned them, as a founder clicking at once would.
    assert not contributions.filter(status=Status.PINNED).exists()
    job = services.job_create(
        dataset=wine, actor=wine.dao.creator, rows_wanted=100, seed=1, method="gan", epochs=2
    )
    assert uploads_awaited(job.pk) == len(WINE_FILES)

    # The synthetic queue's worker first: with nothing pinning the rows, both jobs wait.
    synthetic_worker = start_worker(tmp_path, queues="synthetic")
    pipeline_worker = None
    try:
        for each in (demo_job, job):
            wait_for(
                lambda each=each: (
                    SyntheticJob.objects.get(pk=each.pk).progress.get("stage") == "waiting for rows"
                ),
                what=f"synthetic job {each.pk} to wait for the rows",
                worker=synthetic_worker,
            )
        waiting = SyntheticJob.objects.get(pk=job.pk)
        assert (waiting.status, waiting.attempts) == (JobStatus.QUEUED, 0)
        assert waiting.progress == {"stage": "waiting for rows", "uploads": len(WINE_FILES)}
        # Then the pipeline's: the rows are pinned and both jobs run on them.
        pipeline_worker = start_worker(tmp_path, queues="default,validate,pin,rewards")
        _both_finish(synthetic_worker, demo_job, job)
    finally:
        synthetic_worker.stop()
        if pipeline_worker is not None:
            pipeline_worker.stop()
    assert contributions.filter(status=Status.PINNED).count() == len(WINE_FILES)
    assert uploads_awaited(job.pk) == 0


def _both_finish(worker: WorkerProcess, *jobs: SyntheticJob) -> None:
    for each in jobs:
        wait_for(
            lambda each=each: SyntheticJob.objects.get(pk=each.pk).status in FINISHED,
            timeout=300,
            what=f"synthetic job {each.pk} to finish",
            worker=worker,
        )
        each.refresh_from_db()
        assert each.status != JobStatus.FAILED, each.error
        assert each.error == "" and each.attempts == 1
        # It learned from all 178 pinned wine rows (split into training and hold-out).
        split = each.provenance["split"]
        assert split["train"] + split["holdout"] == 178
        assert set(each.report["generators"]) == {"gan", "copula"}
