"""Declared constraints hold in every output row (GAN and copula), inequalities are inferred
only when true, conditions give only the subgroup, and bad input gets a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from synthetic.constraints import ConstraintError, RowChecker, sample_valid
from synthetic.infer import InputError, parse_rows
from synthetic.stored_model import sample_from_checkpoint
from synthetic.synthesize import GanSettings, synthesize
from synthetic.table import Table, specs_from_schema
from synthetic.table_constraints import (
    ConstraintSet,
    infer_inequalities,
    parse_conditions,
    parse_constraint,
)
from tests.synthetic.test_run import write_csv

FAST = GanSettings(epochs=3, evaluations=1)
CITIES = {"Paris": "FR", "Lyon": "FR", "Berlin": "DE", "Munich": "DE", "Rome": "IT"}


def accounts(n: int = 90, seed: int = 5) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Signup before last login, a city and its country, an age, a plan (the target)."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for _ in range(n):
        signup = start + timedelta(days=int(rng.integers(0, 300)))
        city = str(rng.choice(list(CITIES)))
        rows.append(
            {
                "signup": signup.strftime("%Y-%m-%d"),
                "last_login": (signup + timedelta(days=int(rng.integers(0, 60)))).strftime(
                    "%Y-%m-%d"
                ),
                "city": city,
                "country": CITIES[city],
                "age": str(int(rng.integers(18, 70))),
                "spend": f"{rng.gamma(2.0, 30.0):.2f}",
                "plan": str(rng.choice(["free", "pro"], p=[0.7, 0.3])),
            }
        )
    schema = {
        "columns": [
            {"name": "signup", "type": "datetime", "required": True},
            {"name": "last_login", "type": "datetime", "required": True},
            # Oslo and ES are allowed values no row has.
            {"name": "city", "type": "category", "required": True, "allowed": [*CITIES, "Oslo"]},
            {
                "name": "country",
                "type": "category",
                "required": True,
                "allowed": ["FR", "DE", "IT", "ES"],
            },
            {"name": "age", "type": "int", "required": True},
            {"name": "spend", "type": "float", "required": True},
            {"name": "plan", "type": "category", "required": True, "allowed": ["free", "pro"]},
        ],
        "target": "plan",
    }
    return rows, schema


# The range on last_login is below what signup + (last_login - signup) can reach: it is met by
# rejection; the inequality by modelling the difference; the combination by merging columns.
DECLARED = ["last_login>=signup", "fixed:city,country", "range:last_login::2024-12-31"]


def _check_every_row(rows: list[dict[str, Any]]) -> None:
    assert rows
    for row in rows:
        assert row["last_login"] >= row["signup"]  # canonical ISO text sorts as time
        assert CITIES[row["city"]] == row["country"]
        assert row["last_login"] <= "2024-12-31T00:00:00Z"


@pytest.mark.parametrize("method", ["gan", "copula"])
def test_each_declared_constraint_holds_in_every_row(method: str) -> None:
    rows, schema = accounts()
    late = max(rows, key=lambda r: r["last_login"])["last_login"]
    assert late <= "2024-12-31"  # the data meet the range; the model could overshoot it
    result = synthesize(
        rows,
        n_rows=300,
        seed=2,
        schema=schema,
        method=method,
        gan_settings=FAST,
        constraints=DECLARED,
    )
    _check_every_row(result.rows)
    # A stored model carries its constraints: more rows from it keep them too.
    _check_every_row(sample_from_checkpoint(result.checkpoint, n_rows=100, seed=9, schema=schema))
    state = result.report["constraints"]
    assert state["modelled_as_differences"] == ["signup<=last_login"]
    assert state["merged_combinations"] == ["fixed:city,country"]
    assert result.provenance["constraints"]["declared"] == [
        "signup<=last_login",
        "fixed:city,country",
        "range:last_login::2024-12-31",
    ]


def test_a_strict_inequality_and_the_schema_s_constraints_are_met_by_rejection() -> None:
    rows, schema = accounts()
    for row in rows:  # a strict inequality the data meet: spend is above the age
        row["spend"] = f"{int(row['age']) + float(row['spend']) + 1:.2f}"
    schema = {**schema, "constraints": ["age<spend", "fixed:city,country"]}
    result = synthesize(rows, n_rows=200, seed=1, schema=schema, method="copula")
    assert all(r["age"] < r["spend"] for r in result.rows)
    assert all(CITIES[r["city"]] == r["country"] for r in result.rows)


def test_inference_finds_a_true_inequality_and_not_a_false_one() -> None:
    rows, schema = accounts()
    table = parse_rows(rows, schema)
    found = {c.text for c in infer_inequalities(table, skip={"plan"}, known=[])}
    assert "signup<=last_login" in found
    # age and spend overlap but neither is always below the other; age vs a datetime is no pair.
    assert not {t for t in found if "age" in t and "spend" in t}
    assert not {t for t in found if "age" in t and ("signup" in t or "last_login" in t)}
    # Declared already: not inferred twice.
    known = [parse_constraint("last_login>=signup")]
    assert infer_inequalities(table, skip=set(), known=known) == []


def test_inferred_inequalities_are_reported_kept_and_can_be_turned_off() -> None:
    rows, schema = accounts()
    result = synthesize(rows, n_rows=150, seed=0, schema=schema, method="copula")
    assert result.report["constraints"]["inferred"] == ["signup<=last_login"]
    assert result.provenance["constraints"]["inferred"] == ["signup<=last_login"]
    assert all(r["last_login"] >= r["signup"] for r in result.rows)
    off = synthesize(
        rows, n_rows=150, seed=0, schema=schema, method="copula", infer_constraints=False
    )
    assert off.report["constraints"]["constraints"] == []


@pytest.mark.parametrize(
    ("method", "condition"),
    [("gan", ["plan=pro"]), ("gan", ["city=Rome"]), ("copula", ["country=DE", "plan=free"])],
)
def test_conditions_produce_only_matching_rows(method: str, condition: list[str]) -> None:
    rows, schema = accounts()
    result = synthesize(
        rows,
        n_rows=80,
        seed=3,
        schema=schema,
        method=method,
        gan_settings=FAST,
        constraints=["fixed:city,country"],
        conditions=condition,
    )
    assert len(result.rows) == 80
    for text in condition:
        column, value = text.split("=")
        assert {r[column] for r in result.rows} == {value}
    assert all(CITIES[r["city"]] == r["country"] for r in result.rows)
    assert result.report["conditions"] == condition
    # The gate judged an unconditioned sample, not the subgroup.
    assert result.report["generators"][method]["rows"]["synthetic"] == 80


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (["plan=gold"], "condition 'plan=gold': not one of the allowed"),
        (["city=Oslo"], "no training row has city=Oslo"),
        (["city=Rome", "country=FR"], "no training row has city=Rome and country=FR"),
        (["age=abc"], "condition 'age=abc': "),
        (["nope=1"], "condition 'nope=1': no column 'nope'"),
        (["plan"], "condition 'plan': a condition is 'column=value'"),
    ],
)
def test_impossible_or_malformed_conditions_fail_clearly(
    conditions: list[str], message: str
) -> None:
    rows, schema = accounts()
    with pytest.raises(InputError, match=message):
        synthesize(rows, n_rows=10, seed=0, schema=schema, method="copula", conditions=conditions)


def test_a_subgroup_too_rare_for_the_model_fails_with_a_bound() -> None:
    rows, schema = accounts(40)
    table = parse_rows(rows, schema)

    def draw(n: int, rng: np.random.Generator) -> Table:
        return table.take(rng.integers(0, table.n_rows, n))

    conditions = parse_conditions(["age=200"], {"columns": [{"name": "age", "type": "int"}]})
    from synthetic.table_constraints import condition_mask

    with pytest.raises(
        ConstraintError, match=r"only 0 of 5 rows meet the condition age=200 .*rare"
    ):
        sample_valid(
            draw,
            5,
            rng=np.random.default_rng(0),
            checker=RowChecker(schema),
            forbidden=set(),
            subgroup=("age=200", lambda t: condition_mask(t, conditions)),
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age=>5", "constraint 'age=>5': a constraint is 'a<=b'"),
        ("", "a constraint is"),
        ("range:age:1", "a range is 'range:COLUMN:LOW:HIGH'"),
        ("range:age::", "a range needs a low or a high bound"),
        ("fixed:city", "fixed needs two or more columns"),
        ("fixed:city,city", "a column is named twice"),
        ("age<=age", "compares a column with itself"),
    ],
)
def test_bad_constraint_syntax_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_constraint(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope<=age", "no column 'nope'"),
        ("city<=age", "both columns must be numbers or datetimes"),
        ("age<=signup", "compares a datetime with a number"),
        ("range:city:1:2", "a range needs a number or datetime column"),
        ("range:age:x:5", "bound 'x' is not a number"),
        ("range:signup:2024-13-01:", r"bound '2024-13-01' is not a date \(YYYY-MM-DD\)"),
        ("range:age:9:1", "the low bound is above the high"),
        ("fixed:city,nope", "no column 'nope'"),
    ],
)
def test_constraints_on_the_wrong_columns_name_the_problem(text: str, message: str) -> None:
    _, schema = accounts(2)
    with pytest.raises(InputError, match=message):
        ConstraintSet([parse_constraint(text)], specs_from_schema(schema))


def test_a_declared_constraint_the_data_break_is_refused() -> None:
    rows, schema = accounts()
    with pytest.raises(InputError, match=r"constraint 'range:age:20:60' fails in \d+ of 90"):
        synthesize(rows, n_rows=10, seed=0, schema=schema, constraints=["range:age:20:60"])


def test_a_dp_job_refuses_a_fixed_combination() -> None:
    rows, schema = accounts()
    settings = GanSettings(epochs=1, dp={"epsilon": 5.0, "delta": 1e-5})
    with pytest.raises(InputError, match=r"fixed combination .* DP job"):
        synthesize(
            rows,
            n_rows=10,
            seed=0,
            schema=schema,
            gan_settings=settings,
            constraints=["fixed:city,country"],
        )


def test_command_takes_constraints_and_conditions(tmp_path: Path) -> None:
    rows, schema = accounts()
    source = write_csv(tmp_path / "accounts.csv", rows)
    (tmp_path / "schema.json").write_text(__import__("json").dumps(schema))
    out = tmp_path / "out.csv"
    base = [str(source), "--rows", "60", "--seed", "1", "--output", str(out)]
    base += ["--schema", str(tmp_path / "schema.json"), "--method", "copula"]
    call_command(
        "synthesize",
        *base,
        "--constraint",
        "last_login>=signup",
        "--constraint",
        "fixed:city,country",
        "--condition",
        "country=FR",
    )
    import csv

    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 60 and {r["country"] for r in written} == {"FR"}
    assert all(r["last_login"] >= r["signup"] for r in written)
    assert {r["city"] for r in written} <= {"Paris", "Lyon"}
    with pytest.raises(CommandError, match="constraint 'signup=<last_login': a constraint is"):
        call_command("synthesize", *base, "--constraint", "signup=<last_login")
    with pytest.raises(CommandError, match="no training row has country=ES"):
        call_command("synthesize", *base, "--condition", "country=ES")


def test_a_fixed_combination_of_a_continuous_column_is_refused() -> None:
    rows, schema = accounts()
    with pytest.raises(InputError, match="column 'spend' is continuous; fixed combinations"):
        synthesize(
            rows, n_rows=10, seed=0, schema=schema, method="copula",
            constraints=["fixed:city,spend"],
        )  # fmt: skip


def test_inferred_inequalities_are_met_by_swaps_not_built_in() -> None:
    rows, schema = accounts()
    for row in rows:  # a chain: signup <= last_login <= renewal
        row["renewal"] = row["last_login"]
    schema = {
        **schema,
        "columns": [*schema["columns"], {"name": "renewal", "type": "datetime"}],
    }
    rows[0]["renewal"] = "2025-06-01"
    result = synthesize(rows, n_rows=60, seed=0, schema=schema, method="copula")
    state = result.report["constraints"]
    assert state["inferred"] == [
        "signup<=last_login",
        "signup<=renewal",
        "last_login<=renewal",
    ]
    assert state["modelled_as_differences"] == []  # the model is the one without inference
    assert state["swapped_when_out_of_order"] == state["inferred"]
    for row in result.rows:
        assert row["signup"] <= row["last_login"] <= row["renewal"]


def _pairs_table(rows: list[tuple[float, float, float, float]]) -> tuple[Table, ConstraintSet]:
    specs = specs_from_schema(
        {
            "columns": [
                {"name": "a", "type": "float"},
                {"name": "b", "type": "float"},
                {"name": "c", "type": "float"},
                {"name": "n", "type": "int"},
            ]
        }
    )
    columns = np.array(rows, dtype=float).T
    table = Table(specs, {s.name: columns[i] for i, s in enumerate(specs)})
    found = [parse_constraint(t) for t in ("a<=b", "b<=c", "a<=n")]
    return table, ConstraintSet(found, specs)


def test_a_row_out_of_inferred_order_has_its_pairs_swapped_into_order() -> None:
    """Swaps keep every value the model drew and order a chain; an int paired with a float is
    left for rejection (a swap would put a fraction into the int column)."""
    train, rules = _pairs_table([(1.0, 2.0, 3.0, 4.0), (1.5, 2.5, 3.5, 5.0)])
    rules.fit(train, target=None, checked_only=rules.constraints)
    assert [c.text for c in rules.swapped] == ["a<=b", "b<=c"]
    drawn, _ = _pairs_table([(3.0, 2.0, 1.0, 9.0), (2.0, np.nan, 1.0, 9.0), (5.5, 6.0, 7.0, 2.0)])
    out = rules.reverse(drawn)
    assert out["a"].tolist() == [1.0, 2.0, 5.5]
    assert out["b"][[0, 2]].tolist() == [2.0, 6.0] and np.isnan(out["b"][1])
    assert out["c"].tolist() == [3.0, 1.0, 7.0]  # a missing b: a and c are not a pair
    assert out["n"].tolist() == [9.0, 9.0, 2.0]
    assert rules.problems(out) == [None, None, "constraint a<=n"]
    assert drawn["a"].tolist() == [3.0, 2.0, 5.5]  # the drawn table is not changed
    # A stored model swaps as the fitted one did; one stored without the list does not.
    state = rules.fitted_state()
    assert ConstraintSet.from_fitted_state(state).reverse(drawn)["a"].tolist() == [1.0, 2.0, 5.5]
    del state["swapped"]
    assert ConstraintSet.from_fitted_state(state).reverse(drawn)["a"].tolist() == [3.0, 2.0, 5.5]


def test_the_gan_generates_a_discrete_subgroup_by_conditioning_not_filtering() -> None:
    from synthetic.gan.train import train

    rows, schema = accounts()
    gan = train(parse_rows(rows, schema), target="plan", seed=0, settings=FAST)
    given = gan.condition_for("plan", "pro")
    assert given is not None and gan.condition_for("plan", "gold") is None
    assert gan.condition_for("spend", 1.0) is None  # not a column it conditions on
    drawn = gan.sample_given(50, np.random.default_rng(0), given)
    assert set(drawn["plan"].tolist()) == {"pro"}
    city = gan.condition_for("city", "Rome")
    assert set(gan.sample_given(20, np.random.default_rng(1), city)["city"].tolist()) == {"Rome"}
