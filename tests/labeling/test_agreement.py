"""labeling.consensus.agreement: Krippendorff's alpha, Fleiss' kappa, gold confusion."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from labeling.consensus import agreement
from labeling.consensus.agreement import fleiss_kappa, gold_confusion, krippendorff_alpha_nominal

NAN = np.nan
# Krippendorff's worked example (Content Analysis, 2004; Wikipedia): 3 coders, 12 units,
# values 1..4, missing answers NaN. Nominal alpha 0.691.
KRIPPENDORFF_EXAMPLE = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]
# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters each, 5 categories: 0.210.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _sparse(reliability: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(tasks, labels) from a coders × units matrix with NaN for missing answers."""
    data = np.asarray(reliability, dtype=float)
    coder, unit = np.nonzero(~np.isnan(data))
    return unit, data[coder, unit].astype(np.int64)


def _from_table(table: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(table)
    flat = counts.reshape(-1)
    cells = np.repeat(np.arange(flat.size), flat)
    return cells // counts.shape[1], cells % counts.shape[1]


def test_alpha_by_hand() -> None:
    # Units (a,a), (a,b), (b,b): o_aa = o_bb = 2, o_ab = o_ba = 1, n_a = n_b = 3, n = 6.
    # D_o = 2, D_e = (36 - 18) / 5 = 3.6, alpha = 1 - 2 / 3.6 = 4/9.
    alpha = krippendorff_alpha_nominal([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1], 3, 2)
    assert alpha == pytest.approx(4 / 9)


def test_alpha_of_krippendorffs_example() -> None:
    tasks, labels = _sparse(KRIPPENDORFF_EXAMPLE)
    alpha = krippendorff_alpha_nominal(tasks, labels - 1, 15, 4)
    assert alpha == pytest.approx(0.691358, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_alpha_agrees_with_the_package_on_dense_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_coders, n_units, k = 5, 40, 4
    truth = rng.integers(k, size=n_units)
    data = np.where(rng.random((n_coders, n_units)) < 0.7, truth, rng.integers(k, size=n_units))
    data = np.where(rng.random((n_coders, n_units)) < 0.2, np.nan, data.astype(float))
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    tasks, labels = _sparse(data)
    assert krippendorff_alpha_nominal(tasks, labels, n_units, k) == pytest.approx(expected)


def test_alpha_above_the_package_budget_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    tasks = np.repeat(np.arange(3_000), 3)
    labels = np.where(rng.random(9_000) < 0.6, tasks % 6, rng.integers(6, size=9_000))
    with_package = krippendorff_alpha_nominal(tasks, labels, 3_000, 6)
    monkeypatch.setattr(agreement, "PACKAGE_MAX_CELLS", 0)
    assert krippendorff_alpha_nominal(tasks, labels, 3_000, 6) == pytest.approx(with_package)


def test_alpha_at_a_million_tasks() -> None:
    rng = np.random.default_rng(6)
    n_tasks = 1_000_000
    tasks = np.repeat(np.arange(n_tasks), 2)
    labels = np.where(rng.random(2 * n_tasks) < 0.8, tasks % 10, rng.integers(10, size=2 * n_tasks))
    alpha = krippendorff_alpha_nominal(tasks, labels, n_tasks, 10)
    # Each label is right with probability 0.8 + 0.2/10: agreement well above chance.
    assert alpha is not None
    assert 0.6 < alpha < 0.75


def test_alpha_is_none_where_undefined() -> None:
    assert krippendorff_alpha_nominal([], [], 0, 3) is None
    assert krippendorff_alpha_nominal([0, 1, 2], [0, 1, 2], 3, 3) is None  # no pairs
    assert krippendorff_alpha_nominal([0, 0, 1, 1], [2, 2, 2, 2], 2, 3) is None  # one class


def test_fleiss_kappa_of_the_textbook_example() -> None:
    tasks, labels = _from_table(FLEISS_EXAMPLE)
    kappa, used = fleiss_kappa(tasks, labels, 10, 5)
    assert kappa == pytest.approx(0.20993, abs=1e-5)
    assert used == 10


def test_fleiss_kappa_uses_the_tasks_with_the_modal_overlap() -> None:
    tasks, labels = _from_table(FLEISS_EXAMPLE)
    # Three more tasks with 3 labels each, one with 1: left out (10 tasks have 14).
    extra_tasks = np.array([10, 10, 10, 11, 11, 11, 12, 12, 12, 13])
    extra_labels = np.array([0, 0, 1, 2, 2, 2, 4, 4, 4, 3])
    kappa, used = fleiss_kappa(
        np.concatenate([tasks, extra_tasks]), np.concatenate([labels, extra_labels]), 14, 5
    )
    assert used == 10
    assert kappa == pytest.approx(0.20993, abs=1e-5)
    # Ties between overlap counts go to the larger one.
    kappa, used = fleiss_kappa([0, 0, 1, 1, 2, 2, 2, 3, 3, 3], [0, 1, 1, 1, 0, 0, 1, 1, 1, 1], 4, 2)
    assert used == 2


def test_fleiss_kappa_is_none_where_undefined() -> None:
    assert fleiss_kappa([], [], 0, 2) == (None, 0)
    assert fleiss_kappa([0, 0], [1, 0], 1, 2) == (None, 1)  # one task
    assert fleiss_kappa([0, 0, 1, 1], [1, 1, 1, 1], 2, 2) == (None, 2)  # one class
    assert fleiss_kappa([0, 1, 2], [0, 1, 0], 3, 2) == (None, 0)  # nobody overlaps


def test_gold_confusion() -> None:
    matrix = gold_confusion([0, 1, 1, 2, -1, 2], [0, 1, 2, 2, 0, 0], 3)
    assert matrix.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 1]]
    assert gold_confusion([], [], 2).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(ValueError, match="differ in length: 2, 1"):
        gold_confusion([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"classes must lie in \[0, 2\)"):
        gold_confusion([0, 2], [0, 1], 2)


def test_bad_indexes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        krippendorff_alpha_nominal([0, 0], [0, 3], 1, 2)
    with pytest.raises(ValueError, match=r"tasks must lie in \[0, 1\)"):
        fleiss_kappa([0, 1], [0, 1], 1, 2)
