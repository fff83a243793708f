"""normalized_row_key: one canonical byte string per datum."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from contributions.validation.rowkey import ROW_DIGEST_BYTES, normalized_row_key, row_digest
from contributions.validation.tabular import validate_csv, validate_jsonl


def test_key_is_sorted_compact_json() -> None:
    key = normalized_row_key({"b": 1.5, "a": " Zoë ", "c": None, "d": True})
    assert key == '{"a":"Zoë","b":1.5,"c":null,"d":true}'.encode()


def test_equivalent_rows_have_equal_keys() -> None:
    composed = {"name": "café", "x": 0.0}
    decomposed = {" name": "cafe\u0301 ", "x": -0.0}
    assert normalized_row_key(composed) == normalized_row_key(decomposed)


def test_spellings_that_leave_the_datum_as_it_is_do_not_make_a_new_key() -> None:
    plain = normalized_row_key({"name": "New York 12", "note": "fine"})
    assert normalized_row_key({"name": "New  York\t12", "note": "fine"}) == plain
    assert normalized_row_key({"name": "New \u200bYork 12\u00ad", "note": "fine"}) == plain
    assert normalized_row_key({"name": "New York \uff11\uff12", "note": "\ufb01ne"}) == plain
    # Letter case is kept: in a string it can be the datum.
    assert normalized_row_key({"name": "NEW YORK 12", "note": "fine"}) != plain


def test_datetimes_become_utc_text() -> None:
    aware = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert normalized_row_key({"t": aware}) == b'{"t":"2024-01-01T10:00:00Z"}'
    assert normalized_row_key({"t": datetime(2024, 1, 1, 10, tzinfo=UTC)}) == (
        normalized_row_key({"t": "2024-01-01T10:00:00Z"})
    )


def test_refuses_what_has_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="a row key cannot hold nan"):
        normalized_row_key({"x": math.nan})
    with pytest.raises(TypeError, match="a row key cannot hold a set"):
        normalized_row_key({"x": {1}})


def test_csv_and_jsonl_of_the_same_data_give_the_same_digests() -> None:
    columns = [
        {"name": "id", "type": "int"},
        {"name": "w", "type": "float"},
        {"name": "t", "type": "datetime"},
        {"name": "s", "type": "string"},
    ]
    csv_rows: list[dict[str, Any]] = []
    jsonl_rows: list[dict[str, Any]] = []
    csv_data = b"s;t;w;id\n  hi ;2024-01-01T02:00:00+02:00;1;5\n"
    obj = {"id": 5, "w": 1.0, "t": "2024-01-01T00:00:00Z", "s": "hi"}
    validate_csv(io.BytesIO(csv_data), columns=columns, on_row=lambda _, v: csv_rows.append(v))
    validate_jsonl(
        io.BytesIO(json.dumps(obj).encode()),
        columns=columns,
        on_row=lambda _, v: jsonl_rows.append(v),
    )
    assert csv_rows == jsonl_rows
    assert (
        normalized_row_key(csv_rows[0]) == b'{"id":5,"s":"hi","t":"2024-01-01T00:00:00Z","w":1.0}'
    )
    assert row_digest(csv_rows[0]) == row_digest(jsonl_rows[0])
    assert len(row_digest(csv_rows[0])) == ROW_DIGEST_BYTES
