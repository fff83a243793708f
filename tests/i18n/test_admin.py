"""The console (Django's admin) in Simplified Chinese: every label it shows from our code (model
and field names, help texts, list columns, filters, actions, fieldsets, form labels) is
marked and translated, and its pages render in Chinese under ``Accept-Language: zh-Hans``.

The labels are read from the registered ``ModelAdmin``s the way the admin reads them, once in
English and once in Chinese: a label the same in both, with words in it, was not translated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.db import models
from django.test import Client, RequestFactory
from django.utils import translation

from datadao.models import User
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.django_db

# Labels the same in every language: names, units and technical terms.
SAME_IN_EVERY_LANGUAGE = {"ID", "CID", "SHA", "URL", "DAO", "JSON", "CSV", "ETA", "DP", "SIWE"}
WORD = re.compile(r"[A-Za-z]{2,}")


def _field_texts(model: type[models.Model]) -> Iterator[tuple[str, Any]]:
    opts = model._meta
    yield f"{opts.label}: verbose_name", opts.verbose_name
    yield f"{opts.label}: verbose_name_plural", opts.verbose_name_plural
    for field in opts.get_fields():
        if field.auto_created or not hasattr(field, "verbose_name"):
            continue
        yield f"{opts.label}.{field.name}: verbose_name", field.verbose_name
        if getattr(field, "help_text", ""):
            yield f"{opts.label}.{field.name}: help_text", field.help_text


def _admin_texts(request: Any) -> Iterator[tuple[str, Any]]:
    """(where, label) of what each registered ModelAdmin of ours shows, evaluated now."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in ("auth",):
            continue  # Django's own, translated by Django
        where = type(model_admin).__name__
        yield from _field_texts(model)
        for name in model_admin.get_list_display(request):
            if name != "__str__":
                yield f"{where}.list_display {name}", label_for_field(name, model, model_admin)
        for item in model_admin.get_list_filter(request):
            if isinstance(item, type):
                yield f"{where}.list_filter {item.__name__}", item.title
        for name, (_func, _name, description) in model_admin.get_actions(request).items():
            yield f"{where}.action {name}", description
        for obj in (None,):
            for title, options in model_admin.get_fieldsets(request, obj):
                if title:
                    yield f"{where}.fieldset", title
                for name in options.get("fields", ()):
                    for one in name if isinstance(name, tuple) else (name,):
                        if one in model_admin.get_readonly_fields(request, obj):
                            yield (
                                f"{where}.readonly {one}",
                                label_for_field(one, model, model_admin),
                            )
            if not model_admin.has_add_permission(request):
                continue
            form = model_admin.get_form(request, obj)()
            for name, field in form.fields.items():
                if field.label:
                    yield f"{where}.form {name}: label", field.label
                if field.help_text:
                    yield f"{where}.form {name}: help_text", field.help_text
                if isinstance(field, forms.ModelChoiceField):
                    continue  # its choices are rows: data, not labels
                for value, choice in getattr(field, "choices", ()) or ():
                    if value not in ("", None) and not isinstance(choice, list | tuple):
                        yield f"{where}.form {name}: choice {value}", choice


def untranslated(texts: list[tuple[str, str, str]]) -> list[str]:
    """(where, English, Chinese): those with words that read the same in Chinese."""
    problems = []
    for where, english, chinese in texts:
        words = [w for w in WORD.findall(english) if w not in SAME_IN_EVERY_LANGUAGE]
        if words and english == chinese:
            problems.append(f"{where}: {english!r}")
    return problems


def _read(request: Any, language: str) -> dict[str, str]:
    with translation.override(language):
        return {where: str(text) for where, text in _admin_texts(request)}


def test_every_console_label_is_translated() -> None:
    user = User.objects.create_superuser(address="0x" + "ab" * 20)
    request = RequestFactory().get("/admin/")
    request.user = user
    english, chinese = _read(request, "en"), _read(request, "zh-hans")
    assert english.keys() == chinese.keys()
    assert len(english) > 500  # the whole console was read, not a corner of it
    problems = untranslated([(k, english[k], chinese[k]) for k in english])
    assert problems == [], "\n".join(problems)


def test_the_label_check_finds_an_untranslated_label() -> None:
    texts = [
        ("a", "created at", "创建时间"),
        ("b", "dump CID", "dump CID"),
        ("c", "CID", "CID"),
        ("d", "–", "–"),
    ]
    assert untranslated(texts) == ["b: 'dump CID'"]


def test_console_pages_render_in_chinese() -> None:
    dao = DAOFactory()
    dataset = DatasetFactory(dao=dao)
    client = Client()
    client.force_login(dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    zh = {"accept-language": "zh-Hans"}
    index = client.get("/admin/", headers=zh).content.decode()
    assert '<html lang="zh-hans"' in index
    assert "数据集" in index and "贡献" in index  # model names in the app list
    changelist = client.get("/admin/datadao/dataset/", headers=zh).content.decode()
    assert "打开所选数据集以接收贡献" in changelist  # an action of ours
    assert "Open selected datasets for contributions" not in changelist
    change = client.get(f"/admin/datadao/dataset/{dataset.pk}/change/", headers=zh)
    html = change.content.decode()
    assert change.status_code == 200
    assert "关闭数据集" in html  # the page's own tool
    for english in ("Close dataset", "Save the schema from", "Advanced: edit JSON"):
        assert english not in html
    english_page = client.get("/admin/datadao/dataset/", headers={"accept-language": "en"})
    assert "Open selected datasets for contributions" in english_page.content.decode()


def test_a_pure_modules_refusal_reads_in_the_pages_language() -> None:
    """``rewards.units`` has no Django: it refuses with a ``Detail`` (English everywhere it is
    stored or logged) that the console form shows in the reader's language."""
    from datadao.http import localized
    from rewards.units import parse_units

    with pytest.raises(ValueError) as caught:
        parse_units("1.234", 2)
    assert str(caught.value) == (
        "1.234 has 3 digits after the point, but this token has 2 decimals: enter at most 2."
    )
    with translation.override("zh-hans"):
        assert localized(caught.value.args[0]) == (
            "1.234 小数点后有 3 位，但此代币只有 2 位小数：最多输入 2 位。"
        )
