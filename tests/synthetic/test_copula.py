"""The Gaussian copula baseline."""

from __future__ import annotations

import numpy as np

from synthetic.copula import GaussianCopula
from synthetic.evaluate import evaluate
from tests.synthetic.helpers import load, split


def test_same_seed_same_rows_and_types_kept() -> None:
    table, _schema = load("mixed")
    model = GaussianCopula().fit(table, target="grade")
    first = model.sample(300, np.random.default_rng(11)).records()
    assert first == model.sample(300, np.random.default_rng(11)).records()
    assert first != model.sample(300, np.random.default_rng(12)).records()
    row = first[0]
    assert isinstance(row["age"], int) and isinstance(row["member"], bool)
    assert row["joined"].endswith("T00:00:00Z")  # whole days in, whole days out


def test_values_stay_in_the_observed_range_and_missing_rate_is_kept() -> None:
    table, _ = load("mixed")
    synthetic = GaussianCopula().fit(table, target="grade").sample(4000, np.random.default_rng(0))
    for name in ("age", "score", "joined"):
        assert np.nanmin(synthetic[name]) >= np.nanmin(table[name])
        assert np.nanmax(synthetic[name]) <= np.nanmax(table[name])
    real_rate = np.isnan(table["income"]).mean()
    assert abs(np.isnan(synthetic["income"]).mean() - real_rate) < 0.04
    assert set(synthetic["grade"]) <= {"A", "B", "C"}


def test_conditioning_on_the_target_keeps_class_structure() -> None:
    table, _schema = load("wine_binned")
    train, holdout = split(table, "target")
    ratios = {}
    for conditional in (False, True):
        model = GaussianCopula(conditional=conditional).fit(train, target="target")
        synthetic = model.sample(train.n_rows, np.random.default_rng(0))
        ratios[conditional] = evaluate(train, holdout, synthetic, target="target")["utility"][
            "ratio"
        ]
    assert ratios[True] > 0.9
    assert ratios[True] > ratios[False] + 0.1


def test_int_columns_with_allowed_values_are_classes() -> None:
    from synthetic.gan.transform import TableEncoder
    from synthetic.infer import parse_rows
    from synthetic.table import specs_from_schema

    levels = [1, 10, 100, 1000, 5000] * 6  # 5 values, but as sparse as a quantile can get
    rows = [{"level": str(v), "x": str(i * 0.5)} for i, v in enumerate(levels)]
    schema = {
        "columns": [
            {"name": "level", "type": "int", "allowed": [1, 10, 100, 1000, 5000, 7]},
            {"name": "x", "type": "float"},
        ]
    }
    assert specs_from_schema(schema)[0].categorical
    table = parse_rows(rows, schema)
    synthetic = GaussianCopula().fit(table).sample(500, np.random.default_rng(0))
    assert set(synthetic["level"].tolist()) <= {1, 10, 100, 1000, 5000}
    encoder = TableEncoder.fit(table)
    assert encoder.spans[0].kind == "onehot" and encoder.spans[0].width == 5
    assert TableEncoder.from_state(encoder.state()).specs == table.specs
