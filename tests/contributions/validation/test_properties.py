"""Property tests: on arbitrary input the validators return a verdict, never crash.

Documented behaviour: ``validate_csv``/``validate_jsonl`` raise nothing for any content (only
``OSError`` from reading, which in-memory streams cannot raise); ``sniff`` and ``check_zip``
likewise; ``check_text`` raises only ``ValidationFailed``.
"""

from __future__ import annotations

import io
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contributions.validation.archive import check_zip
from contributions.validation.base import ValidationFailed
from contributions.validation.report import TabularLimits, TabularReport
from contributions.validation.rowkey import normalized_row_key
from contributions.validation.sniff import sniff
from contributions.validation.tabular import validate_csv, validate_jsonl
from contributions.validation.text import check_text
from tests.contributions.validation.payloads import COLUMNS, CSV_HEADER

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = TabularLimits(max_line_bytes=512, max_record_bytes=1024, max_errors=5)
CSVISH = st.text(alphabet=string.printable + "é\"';|\x00\ufeff", max_size=300)


def assert_consistent(report: TabularReport) -> None:
    assert report.rows_valid + report.rows_invalid == report.rows_total
    assert len(report.errors) == min(SMALL.max_errors, report.errors_total)
    assert report.errors_total >= report.rows_invalid
    assert report.ok == (not report.fatal and report.rows_invalid == 0 and report.rows_total > 0)
    json.dumps(report.to_dict())
    assert all(isinstance(reason, str) and reason for reason in report.reasons())


@SETTINGS
@given(st.binary(max_size=600))
def test_csv_on_arbitrary_bytes(data: bytes) -> None:
    assert_consistent(validate_csv(io.BytesIO(data), columns=COLUMNS, limits=SMALL))


@SETTINGS
@given(CSVISH)
def test_csv_on_arbitrary_text_under_a_valid_header(body: str) -> None:
    rows: list[dict[str, Any]] = []
    data = (CSV_HEADER + "\n" + body).encode()
    report = validate_csv(
        io.BytesIO(data), columns=COLUMNS, limits=SMALL, on_row=lambda _, v: rows.append(v)
    )
    assert_consistent(report)
    assert len(rows) == report.rows_valid
    for values in rows:
        assert set(values) == {column["name"] for column in COLUMNS}
        normalized_row_key(values)


@SETTINGS
@given(st.binary(max_size=600))
def test_jsonl_on_arbitrary_bytes(data: bytes) -> None:
    assert_consistent(validate_jsonl(io.BytesIO(data), columns=COLUMNS, limits=SMALL))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
COLUMN_NAMES = st.sampled_from([column["name"] for column in COLUMNS])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(COLUMN_NAMES | st.text(max_size=5), JSON_VALUES, max_size=9), max_size=8
    )
)
def test_jsonl_on_arbitrary_objects(objects: list[dict[str, Any]]) -> None:
    data = "\n".join(json.dumps(obj) for obj in objects).encode()
    # Default line bounds: every object is one row, judged on its own.
    report = validate_jsonl(io.BytesIO(data), columns=COLUMNS, limits=TabularLimits(max_errors=5))
    assert_consistent(report)
    assert report.fatal == ([] if objects else ["the file has no data rows"])
    assert report.rows_total == len(objects)


@SETTINGS
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=10)
        | st.floats(allow_nan=False, allow_infinity=False),
        max_size=6,
    )
)
def test_row_key_is_a_fixed_point(values: dict[str, Any]) -> None:
    try:
        key = normalized_row_key(values)
    except ValueError:
        return
    assert normalized_row_key(json.loads(key)) == key


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties") / "upload"


@SETTINGS
@given(data=st.binary(max_size=800))
def test_sniff_zip_and_text_on_arbitrary_bytes(scratch: Path, data: bytes) -> None:
    scratch.write_bytes(data)
    found = sniff(scratch)
    assert found.media_type is None or found.media_type in found.acceptable
    assert all(isinstance(problem, str) for problem in check_zip(scratch))
    try:
        check_text(scratch)
    except ValidationFailed as exc:
        assert exc.reasons
