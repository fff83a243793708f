"""Translation catalogues in Python: read a gettext ``.po`` file and write the ``.mo`` file
Django loads, with no GNU gettext installed.

Django's ``compilemessages`` shells out to ``msgfmt``, which a fresh machine may lack; the
platform must not start in English-only because of a missing system package, so the catalogues
are compiled here (``manage.py compilecatalogues``, run by bin/run and by the tests). Entries
marked fuzzy and entries with an empty translation are left out of the ``.mo``, as ``msgfmt``
does, so the English text shows instead of a wrong or empty one.

Kept free of Django imports.
"""

from __future__ import annotations

import ast
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MO_MAGIC = 0x950412DE


@dataclass
class Entry:
    """One message of a catalogue. ``msgstr`` has one string, or one per plural form."""

    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False
    line: int = 0

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)


class PoSyntaxError(ValueError):
    pass


def _unquote(token: str, line: int) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise PoSyntaxError(f"line {line}: expected a quoted string, got {token!r}")
    # A .po string uses C escapes, the same as a Python string literal in double quotes.
    return ast.literal_eval(token)


def parse_po(text: str) -> list[Entry]:
    """Every entry of a ``.po`` file, the header (``msgid ""``) included, in file order."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    # The field the next continuation string ("...") appends to: (name, plural index).
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal current, flags, target
        if current is not None:
            entries.append(current)
        current, flags, target = None, set(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if current is not None and current.msgstr:
                finish()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise PoSyntaxError(f"line {number}: a string outside any entry")
            value = _unquote(line, number)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        if keyword in ("msgctxt", "msgid") and current is not None and current.msgstr:
            finish()
        if keyword == "msgctxt":
            current = Entry(msgid="", msgctxt=_unquote(rest, number), line=number)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            if current is None:
                current = Entry(msgid="", line=number)
            current.msgid = _unquote(rest, number)
            current.fuzzy = "fuzzy" in flags
            current.obsolete = obsolete
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            if current is None:
                raise PoSyntaxError(f"line {number}: msgid_plural without msgid")
            current.msgid_plural = _unquote(rest, number)
            target = ("msgid_plural", 0)
        elif keyword == "msgstr" or keyword.startswith("msgstr["):
            if current is None:
                raise PoSyntaxError(f"line {number}: msgstr without msgid")
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            while len(current.msgstr) <= index:
                current.msgstr.append("")
            current.msgstr[index] = _unquote(rest, number)
            target = ("msgstr", index)
        else:
            raise PoSyntaxError(f"line {number}: unknown keyword {keyword!r}")
    finish()
    return entries


def mo_bytes(entries: list[Entry]) -> bytes:
    """The GNU ``.mo`` file (little-endian, no hash table) for the translated, non-fuzzy,
    non-obsolete entries; the header entry is always kept (it carries the plural rule)."""
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or (entry.msgid and (entry.fuzzy or not entry.translated)):
            continue
        key = entry.msgid
        if entry.msgid_plural is not None:
            key += "\0" + entry.msgid_plural
        if entry.msgctxt is not None:
            key = entry.msgctxt + "\x04" + key
        messages[key.encode()] = "\0".join(entry.msgstr).encode()
    keys = sorted(messages)
    header_size = 7 * 4
    table_size = len(keys) * 8
    originals_at = header_size
    translations_at = originals_at + table_size
    data_at = translations_at + table_size
    originals, translations, data = [], [], bytearray()
    for key in keys:
        originals.append((len(key), data_at + len(data)))
        data += key + b"\0"
    for key in keys:
        value = messages[key]
        translations.append((len(value), data_at + len(data)))
        data += value + b"\0"
    out = bytearray(
        struct.pack("<7I", MO_MAGIC, 0, len(keys), originals_at, translations_at, 0, data_at)
    )
    for length, offset in originals + translations:
        out += struct.pack("<2I", length, offset)
    return bytes(out + data)


def compile_po(po_path: Path) -> Path | None:
    """Write ``po_path``'s ``.mo`` beside it when it is missing or older than the ``.po``; the
    path written, or None when it was up to date. Written to a temporary file and renamed, so
    processes compiling at once (test processes, web and workers starting) never read half."""
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return None
    data = mo_bytes(parse_po(po_path.read_text(encoding="utf-8")))
    fd, tmp = tempfile.mkstemp(dir=mo_path.parent, prefix=".django-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, mo_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return mo_path


def compile_all(locale_dirs: list[Path]) -> list[Path]:
    """Compile every stale ``LC_MESSAGES/*.po`` under the given locale folders."""
    written = []
    for root in locale_dirs:
        for po_path in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
            if (mo := compile_po(po_path)) is not None:
                written.append(mo)
    return written
