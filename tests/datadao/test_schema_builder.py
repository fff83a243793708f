"""The console's schema builder: form rows that write a dataset's schema, checked by the one
validator (datadao.schema), with its faults shown next to the rows they came from."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from datadao.models import AuditEvent, Dataset, User
from datadao.schema import validate_schema
from datadao.schema_text import BUILDER_MAX_COLUMNS, column_fields, representable
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.django_db


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _columns(*rows: dict[str, Any], initial: int = 0) -> dict[str, Any]:
    """Posted column rows, as the builder's formset names them."""
    data: dict[str, Any] = {
        "columns-TOTAL_FORMS": str(len(rows)),
        "columns-INITIAL_FORMS": str(initial),
        "columns-MIN_NUM_FORMS": "0",
        "columns-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"columns-{i}-{key}"] = value
    return data


def _new_tabular(dao: Any, **extra: Any) -> dict[str, Any]:
    return {
        "dao": dao.pk,
        "name": "Air readings",
        "slug": "air",
        "kind": "tabular",
        "license": "CC-BY-4.0",
        "visibility": "public",
        "schema_editor": "builder",
        # The JSON textarea as the page sends it: ignored when the builder is chosen.
        "schema": json.dumps({"columns": []}),
        **extra,
    }


COLUMN_ROWS = (
    {"name": "station", "type": "category", "required": "on", "allowed": "north\nsouth\n\n"},
    {"name": "pm25", "type": "float", "min": "0", "max": "999.5"},
    {"name": "count", "type": "int", "min": "0", "max": "100000", "allowed": ""},
    {"name": "note", "type": "string", "regex": r"[a-z ]*", "max_length": "200"},
    {"name": "at", "type": "datetime", "min": "2020-01-01T00:00:00"},
    {"name": "ok", "type": "bool"},
    {"name": "", "type": "string"},  # a spare row: not a column
)


def test_building_a_tabular_schema_stores_exactly_the_json_the_validator_accepts() -> None:
    dao = DAOFactory()
    client = _as(dao.creator)
    page = _page(client.get("/admin/datadao/dataset/add/"))
    # A new dataset starts from its kind's empty schema, with every field explained.
    for textarea in ("schema", "scoring"):
        assert "null" not in page.split(f'name="{textarea}"')[1].split("</textarea>")[0]
    # The creator's only DAO is chosen for them.
    assert re.search(rf'<option value="{dao.pk}" selected>', page)
    assert '"columns": []' in page and "See README" not in page
    assert "Labelers asked per item before their answers are compared" in page

    response = client.post(
        "/admin/datadao/dataset/add/",
        _new_tabular(
            dao,
            **_columns(*COLUMN_ROWS),
            **{"tabular-target": "pm25", "tabular-max_size": "1048576"},
            **{"tabular-constraints": "count<=100000\n"},
        ),
    )
    assert response.status_code == 302, _page(response)[:3000]
    stored = Dataset.objects.get(slug="air").schema
    expected = {
        "columns": [
            {
                "name": "station",
                "type": "category",
                "required": True,
                "allowed": ["north", "south"],
            },
            {"name": "pm25", "type": "float", "min": 0, "max": 999.5},
            {"name": "count", "type": "int", "min": 0, "max": 100000},
            {"name": "note", "type": "string", "regex": "[a-z ]*", "max_length": 200},
            {"name": "at", "type": "datetime", "min": "2020-01-01T00:00:00"},
            {"name": "ok", "type": "bool"},
        ],
        "target": "pm25",
        "max_size": 1048576,
        "constraints": ["count<=100000"],
    }
    assert stored == expected
    assert validate_schema("tabular", stored) == []
    assert representable("tabular", stored)


def test_the_change_page_shows_the_stored_columns_and_saving_a_row_change_stores_it() -> None:
    dataset = DatasetFactory()
    client = _as(dataset.dao.creator)
    url = f"/admin/datadao/dataset/{dataset.pk}/change/"
    page = _page(client.get(url))
    first = dataset.schema["columns"][0]
    assert f'value="{first["name"]}"' in page
    assert re.search(r'value="builder"[^>]* checked', page)

    columns = [column_fields(c) for c in dataset.schema["columns"]]
    rows = [
        {k: ("on" if v is True else v) for k, v in c.items() if v is not False} for c in columns
    ]
    rows.append({"name": "added", "type": "int", "min": "1"})
    response = client.post(
        url,
        {
            "name": dataset.name,
            "license": dataset.license,
            "visibility": dataset.visibility,
            "schema_editor": "builder",
            "schema": json.dumps(dataset.schema),
            **_columns(*rows, initial=len(columns)),
        },
    )
    assert response.status_code == 302, _page(response)[:3000]
    before = dataset.schema
    dataset.refresh_from_db()
    assert dataset.schema == {
        **before,
        "columns": [*before["columns"], {"name": "added", "type": "int", "min": 1}],
    }
    assert AuditEvent.objects.filter(verb="dataset.updated", object_id=str(dataset.pk)).exists()


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        (
            {"name": "age", "type": "int", "min": "10", "max": "1"},
            "min",
            "columns[1].min: 10 is greater than max 1",
        ),
        (
            {"name": "age", "type": "decimal"},
            "type",
            "columns[1].type: must be one of int, float, bool, string, category, datetime, "
            "not 'decimal'",
        ),
        (
            {"name": "age", "type": "string", "regex": r"(a)\1"},
            "regex",
            "columns[1].regex: backreference \\1 is not supported",
        ),
        (
            {"name": "age", "type": "string", "regex": "(?<=x)y"},
            "regex",
            "columns[1].regex: lookbehind (?<=…) is not supported",
        ),
        (
            {"name": "age", "type": "string", "regex": "[a-"},
            "regex",
            "columns[1].regex: not a valid regular expression",
        ),
        (
            {"name": "age", "type": "int", "min": "ten"},
            "min",
            "columns[1].min: must be a whole number, not a string",
        ),
    ],
)
def test_a_bad_column_is_a_form_error_naming_the_column_and_nothing_is_stored(
    row: dict[str, str], field: str, problem: str
) -> None:
    dao = DAOFactory()
    client = _as(dao.creator)
    response = client.post(
        "/admin/datadao/dataset/add/",
        _new_tabular(dao, **_columns({"name": "id", "type": "int"}, row)),
    )
    assert response.status_code == 200
    page = _page(response)
    # In the summary at the top, naming the column ...
    assert f"Column 2 'age': {problem}" in page
    # ... and next to the input it came from, which keeps what was typed.
    cell = page.split(f'class="field-{field}"')[2].split("</td>")[0]
    assert problem in cell and 'name="columns-1-' in cell
    assert not Dataset.objects.filter(slug="air").exists()


def test_every_fault_is_listed_at_once_and_dataset_level_faults_sit_by_their_input() -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        _new_tabular(
            dao,
            **_columns(
                {"name": "a", "type": "int", "min": "5", "max": "1"},
                {"name": "a", "type": "category"},
            ),
            **{"tabular-target": "nope", "tabular-max_size": "0"},
        ),
    )
    page = _page(response)
    assert "Column 1 'a': columns[0].min: 5 is greater than max 1" in page
    assert "Column 2 'a': columns[1].name: duplicate column name 'a'" in page
    assert "Column 2 'a': columns[1].allowed: required for category columns" in page
    assert "target: 'nope' is not one of the columns" in page
    assert "max_size: must be a whole number from 1 to" in page
    assert not Dataset.objects.filter(slug="air").exists()


def test_an_empty_builder_is_refused_with_the_validators_words() -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/", _new_tabular(dao, **_columns({"name": "", "type": "int"}))
    )
    assert response.status_code == 200
    assert "columns: must be a non-empty list of column definitions" in _page(response)
    assert not Dataset.objects.exists()


def test_editing_the_raw_json_still_works_and_is_checked_by_the_same_validator() -> None:
    dataset = DatasetFactory()
    client = _as(dataset.dao.creator)
    url = f"/admin/datadao/dataset/{dataset.pk}/change/"
    base = {"name": dataset.name, "license": "MIT", "visibility": "public"}
    bad = {"columns": [{"name": "x", "type": "string", "regex": "(?=a)"}]}
    # The builder's rows are on the page too; the JSON is what is saved when chosen.
    rows = _columns({"name": "ignored", "type": "int"})
    response = client.post(
        url, {**base, **rows, "schema_editor": "json", "schema": json.dumps(bad)}
    )
    assert response.status_code == 200
    assert "columns[0].regex: lookahead (?=…) is not supported" in _page(response)
    good = {"columns": [{"name": "x", "type": "string", "required": False}], "max_size": 10}
    response = client.post(
        url, {**base, **rows, "schema_editor": "json", "schema": json.dumps(good)}
    )
    assert response.status_code == 302, _page(response)[:3000]
    dataset.refresh_from_db()
    assert dataset.schema == good
    # "required": false is not something the builder writes: the page opens on the JSON.
    page = _page(client.get(url))
    assert re.search(r'value="json"[^>]* checked', page)


def test_a_builder_form_whose_json_does_not_parse_still_saves_from_the_builder() -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        _new_tabular(dao, schema="{oops", **_columns({"name": "a", "type": "int"})),
    )
    assert response.status_code == 302, _page(response)[:3000]
    assert Dataset.objects.get(slug="air").schema == {"columns": [{"name": "a", "type": "int"}]}


FILES_SCHEMA = {
    "media_types": ["image/png", "image/jpeg"],
    "max_size": 5_000_000,
    "image": {"min_width": 64, "min_height": 64, "max_width": 4096},
}
LABELING_SCHEMA = {
    "labels": ["cat", "dog", "other animal"],
    "multi_choice": True,
    "overlap": 3,
    "max_overlap": 5,
    "gold_rate": 0.1,
    "confidence_target": 0.9,
    "gold_accuracy_floor": 0.7,
    "item_kind": "image",
    "max_size": 2_000_000,
}


def _form_fields(page: str, prefix: str) -> dict[str, Any]:
    """What a browser would post back for the builder's inputs under ``prefix`` (text inputs,
    textareas, ticked checkboxes, selected options), read from the rendered page."""
    from html.parser import HTMLParser

    out: dict[str, Any] = {}

    class Reader(HTMLParser):
        select: str | None = None
        textarea: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            name = a.get("name") or ""
            if tag == "input" and name.startswith(prefix):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        value = a.get("value") or "on"
                        if name in out:
                            out[name] = [
                                *(out[name] if isinstance(out[name], list) else [out[name]]),
                                value,
                            ]
                        else:
                            out[name] = value
                else:
                    out[name] = a.get("value") or ""
            elif tag == "select" and name.startswith(prefix):
                self.select = name
                out.setdefault(name, "")
            elif tag == "option" and self.select and "selected" in a:
                out[self.select] = a.get("value") or ""
            elif tag == "textarea" and name.startswith(prefix):
                self.textarea = name
                out[name] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "select":
                self.select = None
            if tag == "textarea":
                self.textarea = None

        def handle_data(self, data: str) -> None:
            if self.textarea:
                out[self.textarea] += data

    Reader().feed(page)
    # A textarea's first newline is dropped by browsers (Django writes one after the tag).
    return {
        k: v.removeprefix("\r\n").removeprefix("\n") if isinstance(v, str) else v
        for k, v in out.items()
    }


@pytest.mark.parametrize(
    ("kind", "schema", "prefix"),
    [
        ("files", FILES_SCHEMA, "files-"),
        ("labeling", LABELING_SCHEMA, "labeling-"),
        ("labeling", {**LABELING_SCHEMA, "order": "uncertain"}, "labeling-"),
    ],
)
def test_files_and_labeling_schemas_round_trip_through_their_forms(
    kind: str, schema: dict[str, Any], prefix: str
) -> None:
    dataset = DatasetFactory(kind=kind, schema=schema)
    client = _as(dataset.dao.creator)
    url = f"/admin/datadao/dataset/{dataset.pk}/change/"
    page = client.get(url).content.decode()
    assert representable(kind, schema)
    # Only this dataset's kind has a builder on its change page.
    other = "labeling" if kind == "files" else "files"
    assert f'data-schema-kind="{other}"' not in page
    fields = _form_fields(page, prefix)
    base = {"name": dataset.name, "license": dataset.license, "visibility": "public"}
    response = client.post(
        url, {**base, **fields, "schema_editor": "builder", "schema": json.dumps(schema)}
    )
    assert response.status_code == 302, _page(response)[:3000]
    dataset.refresh_from_db()
    assert dataset.schema == schema
    # Nothing changed, so nothing was recorded as changed.
    assert not AuditEvent.objects.filter(verb="dataset.updated").exists()


def test_a_new_labeling_dataset_is_built_from_its_form() -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        {
            **_new_tabular(dao, kind="labeling", **_columns()),
            "labeling-labels": "yes\n no \n",
            "labeling-overlap": "5",
            "labeling-max_overlap": "4",
            "labeling-item_kind": "text",
        },
    )
    assert response.status_code == 200
    assert "max_overlap: 4 is less than overlap 5" in _page(response)
    assert not Dataset.objects.exists()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        {
            **_new_tabular(dao, kind="labeling", **_columns()),
            "labeling-labels": "yes\n no \n",
            "labeling-overlap": "5",
            "labeling-item_kind": "text",
        },
    )
    assert response.status_code == 302, _page(response)[:3000]
    assert Dataset.objects.get(slug="air").schema == {
        "labels": ["yes", "no"],
        "overlap": 5,
        "item_kind": "text",
    }


def test_a_files_fault_sits_by_its_input() -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        {
            **_new_tabular(dao, kind="files", **_columns()),
            "files-media_types": ["text/plain", "application/zip"],
            "files-min_width": "10",
        },
    )
    page = _page(response)
    assert "media_types[1]: 'application/zip' is not supported" in page
    assert "image: image limits need at least one image/* media type" in page
    assert not Dataset.objects.exists()


def test_the_add_page_starts_from_the_chosen_kinds_empty_schema() -> None:
    dao = DAOFactory()
    page = _page(_as(dao.creator).get("/admin/datadao/dataset/add/?kind=labeling"))
    textarea = page.split('name="schema"')[1].split("</textarea>")[0]
    assert json.loads(textarea.split(">", 1)[1]) == {"labels": []}


def test_a_schema_wider_than_the_builder_is_edited_as_json() -> None:
    wide = {"columns": [{"name": f"c{i}", "type": "int"} for i in range(BUILDER_MAX_COLUMNS + 1)]}
    dataset = DatasetFactory(schema=wide)
    page = _page(_as(dataset.dao.creator).get(f"/admin/datadao/dataset/{dataset.pk}/change/"))
    assert f"This schema has {BUILDER_MAX_COLUMNS + 1} columns" in page
    assert 'name="columns-0-name"' not in page
    # Chosen anyway, the builder says why it cannot save this schema; nothing changes.
    response = _as(dataset.dao.creator).post(
        f"/admin/datadao/dataset/{dataset.pk}/change/",
        {
            "name": dataset.name,
            "license": dataset.license,
            "visibility": "public",
            "schema_editor": "builder",
            "schema": json.dumps(wide),
        },
    )
    assert response.status_code == 200
    assert "edit it as JSON below" in _page(response)


def test_the_validators_faults_read_in_the_consoles_language() -> None:
    """A schema fault is a ``Detail``: the console shows it translated, in the JSON editor's
    errors and in the builder's summary, with its JSON path as it is."""
    dataset = DatasetFactory()
    client = _as(dataset.dao.creator)
    url = f"/admin/datadao/dataset/{dataset.pk}/change/"
    base = {"name": dataset.name, "license": "MIT", "visibility": "public"}
    bad = {"columns": [{"name": "x", "type": "uuid"}]}
    response = client.post(
        url,
        {**base, **_columns(), "schema_editor": "json", "schema": json.dumps(bad)},
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert response.status_code == 200
    page = _page(response)
    assert (
        "columns[0].type：必须是 int, float, bool, string, category, datetime 之一，而不是 'uuid'"
        in page
    )
    assert "must be one of" not in page
    dao = DAOFactory()
    response = _as(dao.creator).post(
        "/admin/datadao/dataset/add/",
        _new_tabular(dao, **_columns({"name": "a", "type": "int"}, {"name": "a", "type": "int"})),
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert "columns[1].name：列名 'a' 重复" in _page(response)
    assert not Dataset.objects.filter(slug="air").exists()
