"""Synthetic jobs: services (refusals, privacy budget, cancel, the copula choice) and a job
end to end through a real worker on the synthetic queue."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from datadao import blobs
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from ipfs.services import content_open_verified
from synthetic import budget as budget_services
from synthetic import files, services
from synthetic.models import JobStatus, SyntheticJob
from synthetic.sample_tables import iris, wine_binned
from tests.factories import DatasetFactory
from tests.fixtures_celery import start_worker, wait_for


def _iris_dataset(table=iris, name: str = "iris.csv"):  # type: ignore[no-untyped-def]
    rows, schema = table()
    dataset = DatasetFactory(kind="tabular", schema=schema)
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    blobs.store().save_bytes(files.input_key(name), text.getvalue().encode())
    return dataset


@pytest.mark.django_db
def test_refusals_store_nothing():
    dataset = _iris_dataset()
    creator = dataset.dao.creator
    cases = [
        ({"rows_wanted": 0}, "Rows wanted"),
        ({"rows_wanted": 10, "target": "nope"}, "not a column"),
        ({"rows_wanted": 10, "epochs": 5, "time_budget_s": 5}, "not both"),
        ({"rows_wanted": 10, "dp_epsilon": 1.0}, "privacy budget"),
        ({"rows_wanted": 10, "method": "vae"}, "Unknown method"),
    ]
    for kwargs, message in cases:
        with pytest.raises(services.SyntheticRefused, match=message):
            services.job_create(dataset=dataset, actor=creator, **kwargs)
    assert SyntheticJob.objects.count() == 0
    files = DatasetFactory(kind="files", schema={"media_types": ["application/pdf"]})
    with pytest.raises(services.SyntheticRefused, match="tabular"):
        services.job_create(dataset=files, actor=None, rows_wanted=5)


@pytest.mark.django_db
def test_privacy_budget_accumulates_across_jobs():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, actor=None)
    services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=2.0)
    with pytest.raises(
        services.SyntheticRefused, match="2 of 3 is already spent or held by queued jobs"
    ):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.5)
    job = services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.0)
    assert job.dp_epsilon == 1.0
    # A job cancelled while queued never trained: its held ε is free again (a job cancelled
    # while training is charged: test_budget).
    services.job_cancel(job=job, actor=None)
    services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.0)


@pytest.mark.django_db
def test_cancel_a_queued_job_and_refuse_late_cancels():
    dataset = _iris_dataset()
    job = services.job_create(dataset=dataset, actor=None, rows_wanted=10, input_name="iris.csv")
    services.job_cancel(job=job, actor=None)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    with pytest.raises(services.SyntheticRefused, match="too late"):
        services.job_cancel(job=job, actor=None)
    from synthetic.tasks import run_synthetic_job

    assert run_synthetic_job(job.pk) == "skipped"


@pytest.mark.django_db
def test_copula_job_runs_gates_and_pins_flagged_rows():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=60,
        seed=3,
        method="copula",
        input_name="iris.csv",
    )
    assert run_synthetic_job(job.pk) == "done"
    assert run_synthetic_job(job.pk) == "skipped"  # a second delivery does nothing
    job.refresh_from_db()
    assert job.report["generators"]["copula"]["gate"]["checks"]
    assert job.provenance["seed"] == 3
    if job.status == JobStatus.PUBLISHED:
        with content_open_verified(cid=job.output_cid) as handle:
            rows = list(csv.DictReader(handle.read().decode().splitlines()))
        assert len(rows) == 60 == job.output_rows
        assert {r["synthetic"] for r in rows} == {"true"}
        assert {r["synthetic_job"] for r in rows} == {str(job.pk)}
        assert job.checkpoint_cid
        import pyarrow.parquet as pq

        with content_open_verified(cid=job.parquet_cid) as handle:
            table = pq.read_table(handle)
        assert table.num_rows == 60 and set(table.column("synthetic").to_pylist()) == {True}
    else:
        assert job.status == JobStatus.REJECTED_BY_GATE and not job.output_cid


@pytest.mark.django_db
def test_choosing_the_copula_needs_a_gan_that_failed_while_the_copula_passed():
    dataset = _iris_dataset()
    job = SyntheticJob.objects.create(
        dataset=dataset, status=JobStatus.REJECTED_BY_GATE, publishable="copula", seed=4
    )
    follow = services.job_publish_copula(job=job, actor=dataset.dao.creator)
    assert follow.method == "copula" and follow.seed == 4
    assert follow.provenance["chosen_over_gan_job"] == job.pk
    other = SyntheticJob.objects.create(dataset=dataset, status=JobStatus.REJECTED_BY_GATE)
    with pytest.raises(services.SyntheticRefused, match="copula baseline passed"):
        services.job_publish_copula(job=other, actor=dataset.dao.creator)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_gan_job_end_to_end_through_a_worker(tmp_path: Path):
    dataset = _iris_dataset()
    worker = start_worker(tmp_path, queues="synthetic")
    try:
        job = services.job_create(
            dataset=dataset,
            actor=None,
            rows_wanted=50,
            seed=1,
            epochs=30,
            input_name="iris.csv",
        )
        wait_for(
            lambda: SyntheticJob.objects.filter(
                pk=job.pk,
                status__in=[JobStatus.PUBLISHED, JobStatus.REJECTED_BY_GATE, JobStatus.FAILED],
            ).exists(),
            timeout=240,
            what="the synthetic job to finish",
            worker=worker,
        )
    finally:
        worker.stop()
    job.refresh_from_db()
    assert job.status != JobStatus.FAILED, job.error
    assert set(job.report["generators"]) == {"gan", "copula"}
    assert job.progress.get("stage") == "done"
    assert job.passed == (job.status == JobStatus.PUBLISHED)


def _image_dataset_with_pins(n: int = 3):  # type: ignore[no-untyped-def]
    import io as _io

    from PIL import Image

    from contributions.models import Contribution, Status
    from contributions.services import upload_key

    dataset = DatasetFactory(
        kind="files", schema={"media_types": ["image/png"], "max_size": 1_000_000}
    )
    for i in range(n):
        picture = Image.new("RGB", (16, 16), (40 * i, 100, 200 - 30 * i))
        buffer = _io.BytesIO()
        picture.save(buffer, format="PNG")
        contribution = Contribution.objects.create(
            dataset=dataset,
            contributor=dataset.dao.creator,
            sha256=f"{i:064x}",
            size=len(buffer.getvalue()),
            storage_name=f"img-{dataset.pk}-{i}",
            status=Status.PINNED,
            media_type="image/png",
            cid=f"bafkreitest{i}",
        )
        blobs.store().save_bytes(upload_key(contribution), buffer.getvalue())
    return dataset


@pytest.mark.django_db
def test_image_augmentation_job_pins_flagged_images_deterministically():
    import json

    from synthetic.tasks import run_synthetic_job

    dataset = _image_dataset_with_pins()
    settings = {"flip_horizontal": 0.5, "rotate_degrees": 10, "noise_std": 2}
    cids = []
    for _ in range(2):
        job = services.job_create(
            dataset=dataset,
            actor=None,
            rows_wanted=6,
            seed=11,
            method="augment",
            augment=settings,
        )
        assert run_synthetic_job(job.pk) == "done"
        job.refresh_from_db()
        assert job.status == JobStatus.PUBLISHED and job.output_rows == 6
        with content_open_verified(cid=job.output_cid) as handle:
            manifest = json.loads(handle.read())
        assert manifest["synthetic"] is True and manifest["job"] == job.pk
        assert {item["source_cid"] for item in manifest["items"]} <= {
            f"bafkreitest{i}" for i in range(3)
        }
        cids.append([item["cid"] for item in manifest["items"]])
    assert cids[0] == cids[1]  # same seed, same images


@pytest.mark.django_db
def test_image_augmentation_refusals():
    dataset = _image_dataset_with_pins(1)
    with pytest.raises(services.SyntheticRefused, match="augment"):
        services.job_create(dataset=dataset, actor=None, rows_wanted=5, method="gan")
    with pytest.raises(services.SyntheticRefused, match="unknown setting"):
        services.job_create(
            dataset=dataset,
            actor=None,
            rows_wanted=5,
            method="augment",
            augment={"sharpen": 2},
        )
    with pytest.raises(services.SyntheticRefused, match="probability"):
        services.job_create(
            dataset=dataset,
            actor=None,
            rows_wanted=5,
            method="augment",
            augment={"flip_horizontal": 3},
        )
    assert SyntheticJob.objects.count() == 0


@pytest.mark.django_db
def test_run_again_repeats_a_time_budget_job_from_its_provenance():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=40,
        seed=2,
        time_budget_s=1,
        input_name="iris.csv",
        constraints=["range:petal length _cm_::7"],
    )
    with pytest.raises(services.SyntheticRefused, match="has not finished"):
        services.job_rerun(job=job, actor=None)
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    training = job.provenance["training"]
    assert training["epochs_run"] >= 1 and training["validate_every"] == 10
    follow = services.job_rerun(job=job, actor=dataset.dao.creator)
    assert (follow.epochs, follow.time_budget_s) == (training["epochs_run"], None)
    assert follow.validate_every == 10 and follow.rerun_of_id == job.pk
    assert follow.constraints == ["range:petal length _cm_::7"] and follow.seed == 2
    assert run_synthetic_job(follow.pk) == "done"
    follow.refresh_from_db()
    assert follow.provenance["training"]["epochs_run"] == training["epochs_run"]
    assert follow.provenance["output_sha256"] == job.provenance["output_sha256"]
    assert follow.passed == job.passed


@pytest.mark.django_db
def test_run_again_fails_when_the_rows_changed():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    job = services.job_create(
        dataset=dataset, actor=None, rows_wanted=20, method="copula", input_name="iris.csv"
    )
    assert run_synthetic_job(job.pk) == "done"
    key = files.input_key("iris.csv")
    text = blobs.store().read_bytes(key).decode()
    blobs.store().save_bytes(key, ("\n".join(text.splitlines()[:-1]) + "\n").encode())
    follow = services.job_rerun(job=SyntheticJob.objects.get(pk=job.pk), actor=None)
    assert run_synthetic_job(follow.pk) == "failed"
    follow.refresh_from_db()
    assert follow.status == JobStatus.FAILED
    assert "not those the provenance was made from" in follow.error


@pytest.mark.django_db
def test_a_job_keeps_its_constraints_and_conditions():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=30,
        seed=2,  # the copula passes the gate with this seed (deterministic)
        method="copula",
        input_name="iris.csv",
        constraints=["range:petal length _cm_:1:6.9"],
        conditions={"species": "virginica"},
    )
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    assert job.report["conditions"] == ["species=virginica"]
    assert "range:petal length _cm_:1:6.9" in job.report["constraints"]["constraints"]
    assert job.status == JobStatus.PUBLISHED, job.report["generators"]["copula"]["gate"]
    written = blobs.store().read_bytes(files.output_key(job.pk)).decode()
    rows = list(csv.DictReader(io.StringIO(written)))
    assert len(rows) == 30 and {r["species"] for r in rows} == {"virginica"}
    assert all(1 <= float(r["petal length _cm_"]) <= 6.9 for r in rows)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"constraints": ["sepal length _cm_=>1"]}, "constraint 'sepal length _cm_=>1': a"),
        ({"constraints": ["range:nope:0:1"]}, "no column 'nope'"),
        ({"constraints": "a<=b"}, "constraints must be a list"),
        ({"conditions": {"species": "rose"}}, "condition 'species=rose': not one of the"),
        ({"conditions": ["species=setosa"]}, "Conditions must be an object"),
    ],
)
def test_job_constraint_and_condition_refusals(change, message):
    dataset = _iris_dataset()
    with pytest.raises(services.SyntheticRefused, match=message):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, **change)
    assert not SyntheticJob.objects.exists()


@pytest.mark.django_db
def test_console_run_again_queues_a_repeat_and_refuses_an_unfinished_job():
    from django.test import Client

    from datadao.models import AuditEvent
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    done = services.job_create(
        dataset=dataset, actor=None, rows_wanted=20, method="copula", input_name="iris.csv"
    )
    assert run_synthetic_job(done.pk) == "done"
    queued = services.job_create(dataset=dataset, actor=None, rows_wanted=20, method="copula")
    client = Client()
    client.force_login(dataset.dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/admin/synthetic/syntheticjob/",
        {"action": "run_again", "_selected_action": [done.pk, queued.pk]},
        follow=True,
    )
    page = response.content.decode()
    follow = SyntheticJob.objects.get(rerun_of=done)
    assert f"Job {done.pk}: run again as job {follow.pk}." in page
    assert f"Job {queued.pk} has not finished" in page
    assert not SyntheticJob.objects.filter(rerun_of=queued).exists()
    event = AuditEvent.objects.get(verb="synthetic.job_rerun")
    assert event.actor == dataset.dao.creator and event.details["repeats_job"] == done.pk


@pytest.mark.django_db
def test_auto_job_publishes_the_winner_and_records_the_comparison():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset(wine_binned, "wine.csv")
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=100,  # the gate's figures on fewer rows are too noisy to pass reliably
        seed=0,
        method="auto",
        epochs=8,
        input_name="wine.csv",
    )
    assert run_synthetic_job(job.pk) == "done"
    assert run_synthetic_job(job.pk) == "skipped"
    job.refresh_from_db()
    choice = job.report["choice"]
    assert set(job.report["generators"]) == set(choice["candidates"]) == {"copula", "gan", "tvae"}
    assert job.provenance["tvae_settings"]["epochs"] == 8 == job.provenance["settings"]["epochs"]
    assert job.provenance["tvae_training"]["epochs_run"] == 8
    winner = choice["winner"]
    assert winner is not None, choice["reason"]
    assert job.status == JobStatus.PUBLISHED and job.passed
    assert job.published_method == winner == job.provenance["generator"]
    assert job.report["generators"][winner]["gate"]["passed"]
    assert job.output_rows == 100 and job.output_cid and job.checkpoint_cid
    for name, line in choice["candidates"].items():
        assert line["outcome"] == ("won" if name == winner else "lost") and line["reason"]


@pytest.mark.django_db
def test_an_auto_job_no_candidate_passes_is_rejected_with_every_figure():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()  # iris's one-decimal rows: every generator copies too often
    job = services.job_create(
        dataset=dataset, actor=None, rows_wanted=30, method="auto", epochs=4, input_name="iris.csv"
    )
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    choice = job.report["choice"]
    assert choice["winner"] is None, choice["reason"]
    assert job.status == JobStatus.REJECTED_BY_GATE and job.passed is False
    assert not job.output_cid and job.publishable == "" and job.published_method == ""
    for name, line in choice["candidates"].items():
        assert line["reason"].startswith("fails the gate (")
        assert "quality" in job.report["generators"][name]


@pytest.mark.django_db
def test_tvae_job_runs_and_runs_again_from_its_provenance_and_dp_is_refused():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    for method in ("tvae", "auto", "copula"):
        with pytest.raises(services.SyntheticRefused, match="only available with the method 'gan'"):
            services.job_create(
                dataset=dataset, actor=None, rows_wanted=10, method=method, dp_epsilon=1.0
            )
    assert not SyntheticJob.objects.exists()
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=30,
        seed=1,
        method="tvae",
        time_budget_s=1,
        input_name="iris.csv",
    )
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    assert set(job.report["generators"]) == {"tvae", "copula"}
    assert "choice" not in job.report
    training = job.provenance["tvae_training"]
    assert training["stopped"] == "time_budget" and training["epochs_run"] >= 1
    assert job.provenance["tvae_settings"]["time_budget_s"] == 1
    follow = services.job_rerun(job=job, actor=None)
    assert (follow.method, follow.epochs, follow.time_budget_s) == (
        "tvae",
        training["epochs_run"],
        None,
    )
    assert run_synthetic_job(follow.pk) == "done"
    follow.refresh_from_db()
    assert follow.provenance["output_sha256"] == job.provenance["output_sha256"]
    assert follow.report["generators"]["tvae"]["gate"] == job.report["generators"]["tvae"]["gate"]
