"""labeling.consensus.dawid_skene: majority vote, Dawid–Skene (against crowd-kit), gold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeling.consensus.dawid_skene import (
    dawid_skene,
    dawid_skene_multi,
    majority_vote,
    posterior_for_task,
    symmetric_confusion,
)
from tests.labeling.crowd import Crowd, simulate_crowd


def _args(crowd: Crowd) -> tuple:  # type: ignore[type-arg]
    return (
        crowd.tasks,
        crowd.workers,
        crowd.labels,
        crowd.n_tasks,
        crowd.n_workers,
        crowd.n_classes,
    )


@pytest.fixture(scope="module")
def crowd() -> Crowd:
    return simulate_crowd(2_000, 5, 30, overlap=(3, 5), spammers=0.2, seed=7)


@pytest.mark.parametrize("seed", [7, 11])
def test_dawid_skene_beats_majority_vote_and_matches_crowdkit(seed: int) -> None:
    from crowdkit.aggregation import DawidSkene

    crowd = simulate_crowd(2_000, 5, 30, overlap=(3, 5), spammers=0.2, seed=seed)
    ours = dawid_skene(*_args(crowd))
    vote = majority_vote(*_args(crowd))
    frame = pd.DataFrame({"task": crowd.tasks, "worker": crowd.workers, "label": crowd.labels})
    theirs = DawidSkene(n_iter=100).fit_predict(frame).reindex(range(crowd.n_tasks)).to_numpy()

    accuracy = (ours.labels == crowd.truth).mean()
    assert accuracy > (vote.labels == crowd.truth).mean() + 0.02
    assert abs(accuracy - (theirs == crowd.truth).mean()) <= 0.005
    assert (ours.labels == theirs).mean() > 0.99
    assert 1 < ours.iterations < 100


def test_worker_accuracy_finds_spammers_and_tracks_skill(crowd: Crowd) -> None:
    result = dawid_skene(*_args(crowd))
    spam = np.isnan(crowd.accuracy)
    assert result.worker_accuracy[spam].max() < 0.35  # chance is 1/5
    honest = ~spam
    assert np.abs(result.worker_accuracy[honest] - crowd.accuracy[honest]).max() < 0.1
    assert result.confusion is not None
    assert result.confusion.shape == (30, 5, 5)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)
    np.testing.assert_allclose(result.priors.sum(), 1.0)


def test_posterior_for_task_reproduces_the_fitted_posterior(crowd: Crowd) -> None:
    result = dawid_skene(*_args(crowd))
    for task in (0, 1, 17, 999, 1_999):
        mine = crowd.tasks == task
        probs = posterior_for_task(
            crowd.workers[mine],
            crowd.labels[mine],
            confusion=result.confusion,
            priors=result.priors,
        )
        np.testing.assert_allclose(probs, result.probs[task], atol=1e-9)


def test_posterior_for_task_gives_unknown_workers_the_default_matrix() -> None:
    confusion = np.stack([symmetric_confusion(3, 0.9), symmetric_confusion(3, 0.5)])
    priors = np.array([0.5, 0.3, 0.2])
    probs = posterior_for_task(
        [0, -1, 7], [1, 1, 2], confusion=confusion, priors=priors, default_accuracy=0.6
    )
    # Worker 0 is known (0.9 right), -1 and 7 (beyond the matrix) get 0.6 right, 0.2 wrong.
    likelihood = priors * np.array([0.05 * 0.2 * 0.2, 0.9 * 0.6 * 0.2, 0.05 * 0.2 * 0.6])
    np.testing.assert_allclose(probs, likelihood / likelihood.sum())


def test_posterior_for_task_without_a_model_is_uniform_priors_and_default_accuracy() -> None:
    probs = posterior_for_task([3, 4], [0, 0], n_classes=3)
    likelihood = np.array([0.7 * 0.7, 0.15 * 0.15, 0.15 * 0.15])
    np.testing.assert_allclose(probs, likelihood / likelihood.sum())
    np.testing.assert_allclose(posterior_for_task([], [], n_classes=4), 0.25)
    with pytest.raises(ValueError, match="give confusion, priors or n_classes"):
        posterior_for_task([0], [0])
    with pytest.raises(ValueError, match="priors must hold 2 probabilities"):
        posterior_for_task([0], [0], confusion=np.ones((1, 2, 2)) / 2, priors=[1.0])


def _adversarial(seed: int = 0) -> tuple:  # type: ignore[type-arg]
    """12 of 20 workers systematically answer the next class (90% of the time): the majority
    is wrong on purpose, and majority vote and plain Dawid–Skene follow it."""
    rng = np.random.default_rng(seed)
    n_tasks, k, honest, n_workers, overlap = 600, 3, 8, 20, 5
    truth = rng.integers(k, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), overlap)
    workers = rng.random((n_tasks, n_workers)).argsort(axis=1)[:, :overlap].reshape(-1)
    correct = truth[tasks]
    noise = rng.integers(k, size=len(tasks))
    honest_says = np.where(rng.random(len(tasks)) < 0.8, correct, noise)
    adversary_says = np.where(rng.random(len(tasks)) < 0.9, (correct + 1) % k, noise)
    labels = np.where(workers < honest, honest_says, adversary_says)
    return (tasks, workers, labels, n_tasks, n_workers, k), truth


def test_gold_is_clamped_and_calibrates_the_rest() -> None:
    args, truth = _adversarial()
    n_tasks = args[3]
    gold = {task: int(truth[task]) for task in range(0, n_tasks, 10)}
    # One gold answer disagrees with every label the task got: it still wins.
    flipped = int((truth[0] + 2) % 3)
    gold[0] = flipped
    rest = np.ones(n_tasks, bool)
    rest[list(gold)] = False

    plain = dawid_skene(*args)
    clamped = dawid_skene(*args, gold=gold)
    tasks = np.array(list(gold))
    np.testing.assert_array_equal(clamped.labels[tasks], list(gold.values()))
    assert (clamped.posterior[tasks] == 1.0).all()
    assert clamped.labels[0] == flipped
    assert (plain.labels[rest] == truth[rest]).mean() < 0.1
    assert (clamped.labels[rest] == truth[rest]).mean() > 0.95
    # The adversaries are found out: their estimated accuracy is low.
    assert clamped.worker_accuracy[8:].max() < 0.2 < 0.7 < clamped.worker_accuracy[:8].min()


def test_gold_task_without_labels_still_gets_its_answer() -> None:
    result = dawid_skene([0, 0, 1], [0, 1, 0], [1, 1, 0], 3, 2, 2, gold={2: 1})
    assert result.labels[2] == 1
    assert result.posterior[2] == 1.0
    assert result.n_labels[2] == 0
    vote = majority_vote([0, 0, 1], [0, 1, 0], [1, 1, 0], 3, 2, 2, gold={2: 1, 1: 1})
    assert vote.labels.tolist() == [1, 1, 1]
    assert vote.posterior.tolist() == [1.0, 1.0, 1.0]


def test_gold_outside_the_ranges_is_refused() -> None:
    with pytest.raises(ValueError, match=r"gold labels must lie in \[0, 2\)"):
        dawid_skene([0], [0], [0], 1, 1, 2, gold={0: 2})
    with pytest.raises(ValueError, match=r"gold task indexes must lie in \[0, 1\)"):
        majority_vote([0], [0], [0], 1, 1, 2, gold={5: 0})


def test_majority_vote_breaks_ties_towards_the_lowest_class() -> None:
    # Task 0: classes 2 and 0 tie (whatever the order of the labels); task 1: 1 beats 0.
    tasks, workers, labels = [0, 0, 1, 1, 1], [0, 1, 0, 1, 2], [2, 0, 0, 1, 1]
    first = majority_vote(tasks, workers, labels, 2, 3, 3)
    again = majority_vote(tasks[::-1], workers[::-1], labels[::-1], 2, 3, 3)
    assert first.labels.tolist() == again.labels.tolist() == [0, 1]
    np.testing.assert_allclose(first.posterior, [0.5, 2 / 3])
    np.testing.assert_allclose(first.probs[0], [0.5, 0.0, 0.5])
    # Worker 0 agrees on neither task; worker 1 on both; worker 2 on its one.
    np.testing.assert_allclose(first.worker_accuracy, [0.0, 1.0, 1.0])
    assert first.confusion is None
    assert first.iterations == 0


def test_a_task_without_labels_has_no_answer() -> None:
    for run in (majority_vote, dawid_skene):
        result = run([0, 0, 2], [0, 1, 0], [1, 1, 0], 3, 3, 2)
        assert result.labels[1] == -1
        assert result.posterior[1] == 0.0
        assert result.n_labels.tolist() == [2, 0, 1]
        np.testing.assert_allclose(result.probs.sum(axis=1), 1.0)
        assert np.isnan(result.worker_accuracy[2])  # worker 2 gave no labels
    lonely = dawid_skene([0], [0], [1], 2, 1, 2)
    np.testing.assert_allclose(lonely.probs[1], lonely.priors)  # what the model believes a priori


def test_a_single_worker_is_believed() -> None:
    labels = np.array([0, 1, 2, 2, 1, 0, 2])
    result = dawid_skene(np.arange(7), np.zeros(7, np.int64), labels, 7, 1, 3)
    np.testing.assert_array_equal(result.labels, labels)
    assert (result.posterior > 0.9).all()


def test_a_class_nobody_uses_stays_unlikely(crowd: Crowd) -> None:
    result = dawid_skene(*_args(crowd)[:5], 7)  # classes 5 and 6 never given
    assert result.priors[5:].max() < 1e-4
    assert result.probs[:, 5:].max() < 1e-3
    assert np.isfinite(result.probs).all()
    assert (result.labels == crowd.truth).mean() > 0.85


def test_no_labels_at_all() -> None:
    for run in (majority_vote, dawid_skene):
        result = run([], [], [], 3, 2, 4)
        assert result.labels.tolist() == [-1, -1, -1]
        np.testing.assert_allclose(result.probs, 0.25)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length: 2, 2, 1"):
        dawid_skene([0, 1], [0, 0], [1], 2, 1, 2)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\); found 0..2"):
        majority_vote([0, 1], [0, 0], [0, 2], 2, 1, 2)
    with pytest.raises(ValueError, match=r"workers must lie in \[0, 1\)"):
        dawid_skene([0], [-1], [0], 1, 1, 2)
    with pytest.raises(ValueError, match="tasks must hold integers"):
        dawid_skene([0.5], [0], [0], 1, 1, 2)


def test_multi_choice_runs_a_binary_model_per_class() -> None:
    rng = np.random.default_rng(3)
    n_tasks, n_classes, n_workers, overlap = 800, 4, 12, 5
    truth = rng.random((n_tasks, n_classes)) < [0.5, 0.3, 0.15, 0.05]
    skill = rng.uniform(0.6, 0.95, size=n_workers)
    tasks = np.repeat(np.arange(n_tasks), overlap)
    workers = rng.random((n_tasks, n_workers)).argsort(axis=1)[:, :overlap].reshape(-1)
    right = rng.random((len(tasks), n_classes)) < skill[workers, None]
    chosen = np.where(right, truth[tasks], ~truth[tasks])
    gold = {0: set(np.flatnonzero(~truth[0]).tolist())}  # a gold answer against the truth

    result = dawid_skene_multi(tasks, workers, chosen, n_tasks + 1, n_workers, gold=gold)
    assert result.probs.shape == result.present.shape == (n_tasks + 1, n_classes)
    assert ((result.probs >= 0) & (result.probs <= 1)).all()
    np.testing.assert_array_equal(result.present[0], ~truth[0])
    assert not result.present[n_tasks].any()  # no labels, no gold
    assert result.n_labels[n_tasks] == 0
    votes = np.zeros((n_tasks, n_classes))
    np.add.at(votes, tasks, chosen)
    by_vote = (votes / overlap > 0.5) == truth
    by_model = result.present[1:n_tasks] == truth[1:]
    assert by_model.mean() > by_vote[1:].mean()
    assert by_model.mean() > 0.95
    assert np.abs(result.worker_accuracy - skill).max() < 0.1
    assert result.iterations.shape == (n_classes,)
    with pytest.raises(ValueError, match=r"gold classes must lie in \[0, 4\)"):
        dawid_skene_multi(tasks, workers, chosen, n_tasks, n_workers, gold={1: {4}})


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, k - 1)),
                max_size=30,
            ),
            st.dictionaries(st.integers(0, 5), st.integers(0, k - 1), max_size=2),
        )
    )
)
def test_every_result_is_a_distribution_over_valid_labels(case) -> None:  # type: ignore[no-untyped-def]
    k, rows, gold = case
    tasks, workers, labels = (np.array([r[i] for r in rows], np.int64) for i in range(3))
    for run in (majority_vote, dawid_skene):
        result = run(tasks, workers, labels, 6, 4, k, gold=gold)
        np.testing.assert_allclose(result.probs.sum(axis=1), 1.0)
        answered = (result.n_labels > 0) | np.isin(np.arange(6), list(gold))
        assert ((result.labels >= 0) == answered).all()
        assert (result.labels < k).all()
        chosen = result.labels[answered]
        np.testing.assert_allclose(
            result.posterior[answered], result.probs[answered, chosen], rtol=1e-12
        )
        # The chosen class is a most probable one.
        assert (result.posterior[answered] >= result.probs[answered].max(axis=1) - 1e-12).all()
        for task, label in gold.items():
            assert result.labels[task] == label
