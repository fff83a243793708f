"""Every output row satisfies the schema and copies no real row; violators are redrawn."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic.constraints import ConstraintError, RowChecker, sample_valid
from synthetic.table import Table
from tests.synthetic.helpers import load


def test_checker_reasons() -> None:
    _, schema = load("mixed")
    checker = RowChecker(schema)
    good = {
        "age": 30,
        "score": 50.0,
        "income": None,
        "member": True,
        "grade": "A",
        "code": "X-1",
        "joined": "2024-03-01T00:00:00Z",
    }
    assert checker.problem(good) is None
    assert checker.problem({**good, "age": 90}) == "age: above the maximum 79"
    assert checker.problem({**good, "grade": "D"}).startswith("grade: not one of the allowed")
    assert checker.problem({**good, "code": "Y-1"}) == "code: does not match the pattern 'X-[0-3]'"
    assert checker.problem({**good, "member": None}) == "member: required"
    assert checker.problem({**good, "joined": "2023-12-31T00:00:00Z"}).startswith(
        "joined: below the minimum"
    )


def test_violating_and_copied_rows_are_redrawn() -> None:
    table, schema = load("mixed")
    checker = RowChecker(schema)
    forbidden = set(table.row_keys())

    def draw(n: int, rng: np.random.Generator) -> Table:
        # Half the rows copy real ones, a quarter break the age bound.
        rows = table.take(rng.integers(0, table.n_rows, n))
        data = {k: v.copy() for k, v in rows.data.items()}
        data["age"] = np.where(rng.random(n) < 0.25, 120.0, data["age"])
        fresh = rng.random(n) < 0.5
        data["score"] = np.where(fresh, np.round(rng.uniform(0, 100, n), 3), data["score"])
        return Table(table.specs, data)

    out, stats = sample_valid(
        draw, 500, rng=np.random.default_rng(0), checker=checker, forbidden=forbidden
    )
    assert out.n_rows == 500
    assert all(checker.problem(r) is None for r in out.records())
    assert not set(out.row_keys()) & forbidden
    assert stats.rejected["age: above the maximum 79"] > 0
    assert stats.rejected["copy of a training row"] > 0
    # Copies are counted among everything drawn, so the report sees the model's copy rate
    # (half the rows, less the quarter whose age was changed: about 3/8).
    assert stats.copies == stats.rejected["copy of a training row"]
    assert 0.3 < stats.copies / stats.drawn < 0.45
    assert stats.drawn > 500


def test_impossible_constraints_fail_with_the_commonest_reason() -> None:
    table, schema = load("mixed")

    def draw(n: int, rng: np.random.Generator) -> Table:
        data = {k: v[:1].repeat(n) for k, v in table.data.items()}
        data["grade"] = np.array(["Z"] * n, dtype=object)
        return Table(table.specs, data)

    with pytest.raises(ConstraintError, match=r"only 0 of 10 .*grade: not one of the allowed"):
        sample_valid(
            draw, 10, rng=np.random.default_rng(0), checker=RowChecker(schema), forbidden=set()
        )
