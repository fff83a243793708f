"""The whole-dataset run's array paths: the packed-column reader and the per-labeler figures,
against the plain Python they stand for, and the COPY write-back on PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.consensus.dataset_run import labels_arrays, per_labeler


def _rows(data: dict[str, np.ndarray]) -> list[tuple[int, ...]]:
    columns = [data[k].tolist() for k in ("task", "worker", "choice", "ms")]
    return list(zip(*columns, strict=True))


def test_per_labeler_figures_equal_one_pass_per_labeler() -> None:
    rng = np.random.default_rng(11)
    n, workers = 5000, 37
    w_idx = rng.integers(0, workers, n)
    w_idx[:workers] = np.arange(workers)  # every labeler has a label
    ms = rng.integers(0, 60_000, n)
    agree = rng.random(n) < 0.7
    scored = rng.random(n) < 0.9
    scored[w_idx == 5] = False  # one labeler with only check questions
    agreement, medians = per_labeler(w_idx, workers, ms, agree, scored)
    for w in range(workers):
        mine = w_idx == w
        mine_scored = mine & scored
        expected = float(np.mean(agree[mine_scored])) if mine_scored.any() else None
        assert (
            agreement[w] == pytest.approx(expected)
            if expected is not None
            else agreement[w] is None
        )
        assert medians[w] == int(np.median(ms[mine]))


def _labelled(dataset, labelers, n_tasks: int = 30):  # type: ignore[no-untyped-def]
    """Tasks each labelled by every labeler, the first labeler always right, the others by a
    seeded draw; the truth is ``labels[i % 2]``."""
    from labeling.conf import labeling_settings
    from labeling.models import Label
    from tests.labeling.conftest import make_tasks

    names = labeling_settings(dataset.schema).labels
    rng = np.random.default_rng(3)
    tasks = make_tasks(dataset, n_tasks)
    Label.objects.bulk_create(
        Label(
            dataset=dataset,
            task=task,
            labeler=labeler,
            value=[names[choice]],
            choice=choice,
            duration_ms=int(rng.integers(500, 9000)),
        )
        for i, task in enumerate(tasks)
        for j, labeler in enumerate(labelers)
        for choice in [i % 2 if j == 0 or rng.random() < 0.8 else 1 - i % 2]
    )
    return tasks


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [7, 1000])
def test_the_reader_returns_every_label_in_chunks_of_any_size(ldataset, labelers, chunk) -> None:  # type: ignore[no-untyped-def]
    from labeling.models import Label

    dataset = ldataset
    _labelled(dataset, labelers)
    Label.objects.filter(dataset=dataset).order_by("id").filter(
        pk=Label.objects.filter(dataset=dataset).order_by("id").values("pk")[:1]
    ).update(choice=None)
    data = labels_arrays(dataset.pk, chunk=chunk)
    expected = sorted(
        (t, w, -1 if c is None else c, ms)
        for t, w, c, ms in Label.objects.filter(dataset=dataset).values_list(
            "task_id", "labeler_id", "choice", "duration_ms"
        )
    )
    assert expected, "the world has labels"
    assert sorted(_rows(data)) == expected


@pytest.mark.django_db
def test_a_run_stores_by_copy_what_the_row_by_row_path_stores(ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from labeling.consensus.dataset_run import compute_run
    from labeling.models import ConsensusRun, LabelerStats, LabelTask, RunStatus
    from labeling.services import consensus_run_finish
    from labeling.services.settle import _bulk_set_consensus

    tasks = _labelled(ldataset, labelers)
    reviewed, reversed_ = tasks[0], tasks[1]
    LabelTask.objects.filter(pk=reviewed.pk).update(review="accept", consensus=["kept"])
    LabelTask.objects.filter(pk=reversed_.pk).update(reversed_at=timezone.now())

    outcome = compute_run(ldataset, "ds")
    assert outcome.choice_updates is not None and not outcome.task_updates
    run = ConsensusRun.objects.create(dataset=ldataset, method="ds", status=RunStatus.RUNNING)
    consensus_run_finish(run_id=run.pk, outcome=outcome)
    stored = dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "consensus"))
    posteriors = dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "posterior"))

    # The row-by-row path on the same outcome, after wiping: the same consensus.
    LabelTask.objects.filter(dataset=ldataset).exclude(pk=reviewed.pk).update(
        consensus=None, posterior=None
    )
    _bulk_set_consensus(outcome.choice_updates.as_list())
    again = dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "consensus"))
    assert stored == again
    assert stored[reviewed.pk] == ["kept"] and stored[reversed_.pk] is None
    assert all(stored[t.pk] is not None for t in tasks[2:])
    assert posteriors[tasks[2].pk] == pytest.approx(
        dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "posterior"))[tasks[2].pk]
    )
    # One upsert stored every labeler's figures.
    assert LabelerStats.objects.filter(dataset=ldataset, ds_accuracy__isnull=False).count() == len(
        labelers
    )

    # A re-run that changes nothing leaves each item's settlement time alone.
    settled_at = dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "consensus_at"))
    run2 = ConsensusRun.objects.create(dataset=ldataset, method="ds", status=RunStatus.RUNNING)
    consensus_run_finish(run_id=run2.pk, outcome=compute_run(ldataset, "ds"))
    assert (
        dict(LabelTask.objects.filter(dataset=ldataset).values_list("pk", "consensus_at"))
        == settled_at
    )
