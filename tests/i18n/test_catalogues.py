"""The Python .po → .mo compiler (datadao.catalogues): what Django's gettext reads from its
output, against GNU msgfmt's where that is installed, and the rules msgfmt follows."""

from __future__ import annotations

import gettext
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from datadao.catalogues import PoSyntaxError, compile_po, mo_bytes, parse_po

SAMPLE = r"""# A comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

#: a.html
msgid "Sign out"
msgstr "退出登录"

#, python-format
msgid ""
"Signed in as <code>%(address)s</code>, "
"with \"quotes\"\tand a tab"
msgstr "已登录：<code>%(address)s</code>，带\"引号\"\t和制表符"

msgctxt "verb"
msgid "Label"
msgstr "标注"

msgid "one file"
msgid_plural "%(n)s files"
msgstr[0] "%(n)s 个文件"

#, fuzzy
msgid "Half done"
msgstr "半成品"

msgid "Not yet"
msgstr ""

#~ msgid "Gone"
#~ msgstr "已删除"
"""


def _load(data: bytes) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(data))


def test_compiled_catalogue_translates_what_it_should_and_nothing_else() -> None:
    catalogue = _load(mo_bytes(parse_po(SAMPLE)))
    assert catalogue.gettext("Sign out") == "退出登录"
    assert (
        catalogue.gettext('Signed in as <code>%(address)s</code>, with "quotes"\tand a tab')
        == '已登录：<code>%(address)s</code>，带"引号"\t和制表符'
    )
    assert catalogue.pgettext("verb", "Label") == "标注"
    assert catalogue.gettext("Label") == "Label"  # the context is part of the key
    assert catalogue.ngettext("one file", "%(n)s files", 7) == "%(n)s 个文件"
    # Fuzzy, empty and obsolete entries fall back to the English text, as with msgfmt.
    assert catalogue.gettext("Half done") == "Half done"
    assert catalogue.gettext("Not yet") == "Not yet"
    assert catalogue.gettext("Gone") == "Gone"
    assert catalogue.info()["plural-forms"] == "nplurals=1; plural=0;"


def test_parse_reports_flags_and_obsolete_entries() -> None:
    entries = {(e.msgctxt, e.msgid): e for e in parse_po(SAMPLE)}
    assert entries[(None, "Half done")].fuzzy
    assert not entries[(None, "Sign out")].fuzzy
    assert not entries[(None, "Not yet")].translated
    assert entries[(None, "Gone")].obsolete
    assert entries[(None, "one file")].msgid_plural == "%(n)s files"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('msgid "a"\nmsgstr b\n', "expected a quoted string"),
        ('"stray"\n', "a string outside any entry"),
        ('msgid "a"\nmsgfoo "b"\n', "unknown keyword 'msgfoo'"),
        ('msgstr "b"\n', "msgstr without msgid"),
    ],
)
def test_parse_refuses_malformed_catalogues_by_line(text: str, message: str) -> None:
    with pytest.raises(PoSyntaxError, match=message):
        parse_po(text)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU msgfmt is not installed here")
def test_same_translations_as_gnu_msgfmt(tmp_path: Path) -> None:
    """The project's own catalogue and the sample, compiled both ways, translate every entry
    the same. (Only where msgfmt exists: the point of the Python compiler is not needing it;
    the tests above check its output on their own.)"""
    own = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    for name, text in (("sample", SAMPLE), ("project", own.read_text(encoding="utf-8"))):
        po = tmp_path / f"{name}.po"
        po.write_text(text, encoding="utf-8")
        gnu = tmp_path / f"{name}.gnu.mo"
        subprocess.run(["msgfmt", "-o", str(gnu), str(po)], check=True)
        ours, theirs = _load(mo_bytes(parse_po(text))), _load(gnu.read_bytes())
        entries = [e for e in parse_po(text) if e.msgid and not e.obsolete]
        assert entries
        for e in entries:
            if e.msgid_plural is not None:
                got = [ours.ngettext(e.msgid, e.msgid_plural, n) for n in (1, 2)]
                want = [theirs.ngettext(e.msgid, e.msgid_plural, n) for n in (1, 2)]
            elif e.msgctxt is not None:
                got, want = ours.pgettext(e.msgctxt, e.msgid), theirs.pgettext(e.msgctxt, e.msgid)
            else:
                got, want = ours.gettext(e.msgid), theirs.gettext(e.msgid)
            assert got == want, (name, e.msgid)


def test_compile_po_writes_once_and_again_after_an_edit(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(SAMPLE, encoding="utf-8")
    mo = compile_po(po)
    assert mo == tmp_path / "django.mo"
    assert _load(mo.read_bytes()).gettext("Sign out") == "退出登录"
    assert compile_po(po) is None  # up to date: not rewritten
    po.write_text(SAMPLE.replace("退出登录", "登出"), encoding="utf-8")
    stamp = mo.stat().st_mtime
    os.utime(po, (stamp + 5, stamp + 5))
    assert compile_po(po) == mo
    assert _load(mo.read_bytes()).gettext("Sign out") == "登出"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".django-")] == []
