"""Issue #26 item 12: a user-facing string left unmarked, or missing, fuzzy or empty in the
zh-Hans catalogue, fails here.

Every template of the project is in ``COVERED_TEMPLATES`` and held to both rules, so a new page
cannot slip past unmarked; ``COVERED_MODULES`` are the Python modules whose refusals are
translated. The static JavaScript is held to the same rules: each string a person reads is
marked with ``gettext``/``ngettext``/``interpolate`` and has a zh-Hans entry in the
``djangojs`` catalogue that ``/jsi18n/`` serves.

The strings are collected the way ``makemessages`` collects them, with no GNU gettext needed:
templates through Django's own ``templatize`` (what makemessages feeds to xgettext), Python
modules by their ``Detail("...")``/``gettext("...")`` calls.
"""

from __future__ import annotations

import ast
import importlib
import io
import os
import re
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

from datadao.catalogues import Entry, parse_po
from datadao.errors import ApplicationError

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
JS_CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "djangojs.po"

COVERED_TEMPLATES = [
    "templates/admin/base_site.html",
    "templates/admin/pagination.html",
    "datadao/templates/datadao/base.html",
    "datadao/templates/datadao/_language.html",
    "datadao/templates/datadao/home.html",
    "datadao/templates/datadao/dao_new.html",
    "datadao/templates/datadao/dao_detail.html",
    "datadao/templates/datadao/invite.html",
    "datadao/templates/datadao/_join.html",
    "datadao/templates/datadao/_schema_summary.html",
    "contributions/templates/contributions/dataset.html",
    "contributions/templates/contributions/_dataset_counts.html",
    "contributions/templates/contributions/mine.html",
    "contributions/templates/contributions/contribution.html",
    "contributions/templates/contributions/_contribution_live.html",
    "contributions/templates/contributions/release.html",
    "contributions/templates/contributions/release_huggingface.html",
    "contributions/templates/contributions/tokens.html",
    "rewards/templates/rewards/mine.html",
    "rewards/templates/rewards/_policy.html",
    "rights/templates/rights/mine.html",
    "governance/templates/governance/proposals.html",
    "labeling/templates/labeling/label.html",
    "labeling/templates/labeling/review.html",
    "labeling/templates/labeling/_dataset_summary.html",
    "console/templates/console/dashboard.html",
    "datadao/templates/admin/datadao/dao/change_form.html",
    "datadao/templates/admin/datadao/dataset/_column_row.html",
    "datadao/templates/admin/datadao/dataset/change_form.html",
    "datadao/templates/admin/datadao/dataset/schema_builder.html",
    "disputes/templates/admin/disputes/decide.html",
    "labeling/templates/admin/labeling/consensusrun/change_list.html",
    "rewards/templates/admin/rewards/epoch/change_list.html",
    "rewards/templates/admin/rewards/epoch_close.html",
    "rights/templates/rights/console.html",
    "rights/templates/rights/reads.html",
    "synthetic/templates/synthetic/_dataset_sets.html",
    "synthetic/templates/synthetic/_release_sets.html",
]
# Covered templates with no text of their own (form widgets only), and why that is right.
NO_TEXT_TEMPLATES = {
    "datadao/templates/admin/datadao/dataset/_column_row.html": "one row of form widgets",
    "datadao/templates/admin/datadao/dataset/change_form.html": "admin form, tools from Python",
}
# Strings of a covered template knowingly left unmarked, and why.
KNOWN_UNMARKED: dict[str, list[str]] = {
    # A placeholder showing how an Ethereum address starts.
    "rights/templates/rights/console.html": ["0x…"],
}
# Modules whose marked strings (API error details, model choice labels) are translated. Every
# module that marks a string (``Detail("...")``, ``gettext``) must be listed: the check below
# finds them, so a new one cannot answer in English unnoticed.
COVERED_MODULES = [
    "datadao/governed.py",
    "datadao/http.py",
    "datadao/paging.py",
    "datadao/joining.py",
    "datadao/jointerms.py",
    "datadao/middleware.py",
    "datadao/models.py",
    "datadao/tokenscopes.py",
    "datadao/views/auth.py",
    "datadao/views/join.py",
    "datadao/views/personal.py",
    "contributions/api.py",
    "contributions/backpressure.py",
    "contributions/models.py",
    "contributions/query_views.py",
    "contributions/quorum/api.py",
    "contributions/quorum/auth.py",
    "contributions/quorum/services.py",
    "contributions/release_views.py",
    "contributions/sealed.py",
    "contributions/services/inflight.py",
    "contributions/services/queries.py",
    "contributions/services/receive.py",
    "contributions/services/review.py",
    "contributions/services/withdrawal.py",
    "contributions/token_auth.py",
    "contributions/token_views.py",
    "contributions/tokens.py",
    "contributions/uploads.py",
    "contributions/withdrawal_views.py",
    "console/views.py",
    "labeling/views.py",
    "datadao/checklist.py",
    "rights/views.py",
    "disputes/api.py",
    "disputes/models.py",
    "disputes/services.py",
    "governance/api.py",
    "governance/changes.py",
    "governance/models.py",
    "governance/power.py",
    "governance/services.py",
    "governance/vote712.py",
    "ipfs/models.py",
    "ipfs/reads.py",
    "labeling/answers.py",
    "labeling/api.py",
    "labeling/models.py",
    "labeling/services/access.py",
    "labeling/services/assign.py",
    "labeling/services/items.py",
    "labeling/services/predict.py",
    "labeling/services/reverse.py",
    "labeling/services/review.py",
    "labeling/services/settle.py",
    "labeling/services/submit.py",
    "rewards/models.py",
    "rewards/royalties.py",
    "rewards/services.py",
    "rewards/units.py",
    "datadao/schema.py",
    "rewards/views.py",
    "rights/api.py",
    "rights/grant712.py",
    "rights/models.py",
    "rights/replay_keys.py",
    "rights/services.py",
    "synthetic/budget.py",
    "synthetic/models.py",
    "synthetic/services.py",
    "webhooks/models.py",
    "webhooks/services.py",
    # The console (Django's admin): labels, actions, messages; its labels are also read at
    # run time in both languages (tests/i18n/test_admin.py).
    "contributions/admin.py",
    "contributions/quorum/admin.py",
    "datadao/admin.py",
    "datadao/console.py",
    "datadao/events.py",
    "datadao/joining_admin.py",
    "disputes/admin.py",
    "governance/admin.py",
    "ipfs/admin.py",
    "labeling/admin.py",
    "rewards/admin.py",
    "rewards/admin_royalties.py",
    "synthetic/admin.py",
    "webhooks/admin.py",
    # The management commands: help, output, errors (in the operator's language).
    "console/management/commands/demo.py",
    "contributions/management/commands/contribute.py",
    "contributions/management/commands/kek_keystore.py",
    "contributions/management/commands/rebuild_row_index.py",
    "contributions/management/commands/release_proof_sheets.py",
    "contributions/management/commands/rotate_data_keys.py",
    "contributions/management/commands/validator_set_adoption.py",
    "contributions/management/commands/verify_release.py",
    "datadao/management/commands/compilecatalogues.py",
    "datadao/management/commands/makemessages.py",
    "ipfs/management/commands/ipfs_car.py",
    "ipfs/management/commands/ipfs_cid.py",
    "ipfs/management/commands/ipfs_gc.py",
    "labeling/management/commands/aggregate_labels.py",
    "rewards/management/commands/rewards_deploy.py",
    "rewards/management/commands/rewards_tree.py",
    "rewards/management/commands/rewards_voucher.py",
    "rights/management/commands/grant_replay_file.py",
    "synthetic/management/commands/synthesize.py",
    "synthetic/management/commands/synthetic_gate.py",
]

# Words that are the same in every language: names, formats, units, technical terms.
UNTRANSLATED_WORDS = {
    "datadao", "DAO", "CID", "CSV", "CAR", "Parquet", "JSON", "UTC", "SHA-256", "sha256",
    "proof.json", "tx", "v",
}  # fmt: skip
# Attributes a person reads or hears (a screen reader reads aria-label).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
MASK = "\x00"
# Elements whose text is not prose: code, key names, scripts, styles.
HIDDEN_ELEMENTS = {"code", "kbd", "script", "style"}


def _catalogue(path: Path = CATALOGUE) -> dict[tuple[str | None, str], Entry]:
    entries = parse_po(path.read_text(encoding="utf-8"))
    return {(e.msgctxt, e.msgid): e for e in entries if e.msgid and not e.obsolete}


def _masked(source: str) -> str:
    """The template with every tag, variable and comment replaced by MASK, and the text inside
    {% blocktranslate %} and {% comment %} blocks too: what is left is literal text."""
    out, skipping = [], None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            word = token.contents.split()[0] if token.contents.split() else ""
            if word in ("blocktranslate", "blocktrans", "comment"):
                skipping = "end" + word
            elif word == skipping:
                skipping = None
            out.append(MASK)
        elif token.token_type == TokenType.TEXT and skipping is None:
            out.append(token.contents)
        else:
            out.append(MASK)
    return "".join(out)


class _Text(HTMLParser):
    """Literal text a person reads: element text outside <code>, <kbd> (key names), <script>
    and <style>, and the read attributes; the values of the rest (URLs, ids) are not text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self._hidden += 1
        self.found += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.found.append(data)


def unmarked_text(source: str) -> list[str]:
    """The pieces of literal text in a template that are words but not marked for translation."""
    parser = _Text()
    # A tag or variable between a tag's attributes ({% if %} hidden{% endif %}) is a space there.
    masked = re.sub(r"<[^<>]*>", lambda tag: tag.group().replace(MASK, " "), _masked(source))
    parser.feed(masked)
    problems = []
    for piece in parser.found:
        for part in piece.split(MASK):
            words = [w for w in re.findall(r"[A-Za-z][A-Za-z.\-0-9]*", part)]
            if [w for w in words if w.strip(".") not in UNTRANSLATED_WORDS]:
                problems.append(part.strip())
    return problems


def template_messages(source: str) -> list[tuple[str | None, str]]:
    """(context, msgid) of every string the template marks, as makemessages extracts them."""
    # Each line on its own: templatize keeps the template's indentation, which tokenize would
    # read as Python blocks.
    code = "\n".join(line.lstrip() for line in templatize(source).splitlines())
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)]
    found = []
    for i, token in enumerate(tokens):
        # templatize writes _("...") for a filter argument like default:_("...").
        if token.type != tokenize.NAME or token.string not in (
            "_",
            "gettext",
            "ngettext",
            "pgettext",
            "npgettext",
        ):
            continue
        strings = []
        for following in tokens[i + 2 :]:
            if following.type == tokenize.OP and following.string == ")":
                break
            if following.type == tokenize.STRING:
                strings.append(ast.literal_eval(following.string))
        context = strings.pop(0) if token.string.startswith(("p", "np")) else None
        found.append((context, strings[0]))
    return found


# Calls whose first argument is a message (ngettext's the singular; its plural is beside it).
MARKING_CALLS = {
    "Detail", "_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy",
}  # fmt: skip


def module_messages(source: str) -> list[tuple[str | None, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        first = node.args[0]
        strings = [a.value for a in node.args if isinstance(a, ast.Constant)]
        if name in MARKING_CALLS and (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):
            found.append((None, first.value))
        elif name in ("pgettext", "pgettext_lazy") and len(strings) == 2:
            found.append((strings[0], strings[1]))
    return found


def _check_catalogue(
    messages: list[tuple[str | None, str]], where: str, path: Path = CATALOGUE
) -> list[str]:
    catalogue = _catalogue(path)
    problems = []
    for key in messages:
        entry = catalogue.get(key)
        if entry is None:
            problems.append(f"{where}: not in the zh-Hans catalogue: {key[1]!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: fuzzy in the zh-Hans catalogue: {key[1]!r}")
        elif not entry.translated:
            problems.append(f"{where}: no zh-Hans translation: {key[1]!r}")
    return problems


def test_every_template_is_covered() -> None:
    found = {
        str(p.relative_to(ROOT))
        for p in ROOT.glob("*/templates/**/*.html")
        if ".venv" not in p.parts and "node_modules" not in p.parts
    } | {str(p.relative_to(ROOT)) for p in (ROOT / "templates").glob("**/*.html")}
    listed = set(COVERED_TEMPLATES)
    assert len(listed) == len(COVERED_TEMPLATES), "a template listed twice"
    assert found - listed == set(), "new templates: translate them, add them to COVERED_TEMPLATES"
    assert listed - found == set(), "templates that no longer exist"


@pytest.mark.parametrize("path", COVERED_TEMPLATES)
def test_covered_template_marks_every_string(path: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert unmarked_text(source) == KNOWN_UNMARKED.get(path, [])
    assert bool(template_messages(source)) != (path in NO_TEXT_TEMPLATES), (
        "a covered template with nothing to translate must be in NO_TEXT_TEMPLATES, and only then"
    )


@pytest.mark.parametrize("path", COVERED_TEMPLATES)
def test_covered_template_is_fully_translated(path: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert _check_catalogue(template_messages(source), path) == []


# Folders whose Python is not the server's: the tests, the command lines and the verifier (they
# translate from their own catalogues, checked in tests/i18n/test_cli.py), and what is not ours.
NOT_SERVER = {
    "tests", "bench", "clients", "datadao_cli", "datadao_validator", "datadao_verify",
    "node_modules",
}  # fmt: skip


def marking_modules() -> set[str]:
    """Every server module that marks a string for translation (migrations aside: a label there
    is a copy of the model's)."""
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in ("migrations", "__pycache__")
            and not (here == ROOT and d in NOT_SERVER)
            and d != "node_modules"
        ]
        for name in files:
            if name.endswith(".py") and module_messages((here / name).read_text("utf-8")):
                found.add(str((here / name).relative_to(ROOT)))
    return found


def test_every_module_that_marks_a_string_is_covered() -> None:
    """A module that starts marking strings is held to the catalogue from its first string."""
    found = marking_modules()
    assert found - set(COVERED_MODULES) == set(), "modules marking strings: add to COVERED_MODULES"
    assert set(COVERED_MODULES) - found == set(), "listed modules that mark nothing (or are gone)"


def server_modules() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in ("migrations", "__pycache__", "node_modules")
            and not (here == ROOT and d in NOT_SERVER)
        ]
        found += [str((here / n).relative_to(ROOT)) for n in files if n.endswith(".py")]
    return sorted(found)


def unmarked_refusals(source: str, module: object) -> list[str]:
    """Messages written as a literal or an f-string and raised in an ``ApplicationError`` (the
    class looked up in ``module``): the API would answer them in English only."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        names, func = [], node.exc.func
        while isinstance(func, ast.Attribute):
            names.insert(0, func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            continue
        target = module
        for name in [func.id, *names]:
            target = getattr(target, name, None)
        if not (isinstance(target, type) and issubclass(target, ApplicationError)):
            continue
        for arg in node.exc.args:
            if isinstance(arg, ast.JoinedStr):
                text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                text = arg.value if " " in arg.value else ""  # a code ("not_found") has none
            else:
                continue
            if re.search(r"[A-Za-z]{2,}", text):  # words, not only punctuation around values
                found.append(f"line {node.lineno}")
    return found


def test_no_refusal_is_raised_with_an_unmarked_message() -> None:
    """A refusal's message is a ``Detail`` (translated in the answer), never a bare literal or
    f-string. Refusals passed through helpers are held by the covered-module check instead."""
    problems = []
    for path in server_modules():
        module_name = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        if module_name.endswith("__main__") or module_name == "manage":
            continue  # they run a command when imported
        module = importlib.import_module(module_name)
        source = (ROOT / path).read_text(encoding="utf-8")
        problems += [f"{path}: {where}" for where in unmarked_refusals(source, module)]
    assert problems == []


def test_the_refusal_check_finds_an_unmarked_message() -> None:
    source = (
        'raise ApplicationError(f"No {x}.")\nraise ApplicationError("Bare words.")\n'
        'raise ApplicationError(Detail("Marked."), code="not_found")\nraise ValueError("x y")\n'
        'raise ApplicationError(f"{exc}.")\n'
    )
    module = type("M", (), {"ApplicationError": ApplicationError, "ValueError": ValueError})
    assert unmarked_refusals(source, module) == ["line 1", "line 2"]


@pytest.mark.parametrize("path", COVERED_MODULES)
def test_covered_module_refusals_are_translated(path: str) -> None:
    messages = module_messages((ROOT / path).read_text(encoding="utf-8"))
    assert messages, "a covered module with no marked message"
    assert _check_catalogue(messages, path) == []


@pytest.mark.parametrize("path", [CATALOGUE, JS_CATALOGUE], ids=["django", "djangojs"])
def test_catalogue_has_no_fuzzy_entry_and_translations_keep_their_placeholders(path: Path) -> None:
    problems = []
    for entry in _catalogue(path).values():
        if entry.fuzzy:
            problems.append(f"fuzzy: {entry.msgid!r}")
        if not entry.translated:
            continue
        want = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural is not None:
            want |= set(PLACEHOLDER.findall(entry.msgid_plural))
        for text in entry.msgstr:
            if set(PLACEHOLDER.findall(text)) != want:
                problems.append(f"placeholders differ: {entry.msgid!r} -> {text!r}")
    assert problems == []


def test_the_check_catches_an_unmarked_string_and_a_missing_entry() -> None:
    """The check itself: it fails on what it is for, and passes marked, technical text."""
    template = (
        '{% load i18n %}<p title="Unmarked title">{% translate "Sign out" %} '
        "Plain words here <code>not_prose</code> {{ value }} UTC</p>"
        "{% blocktranslate %}Inside a block {{ x }}{% endblocktranslate %}"
        '<script>var a = "b";</script>'
        '<img alt="{% translate "Upload" %}">'
    )
    assert unmarked_text(template) == ["Unmarked title", "Plain words here"]
    assert template_messages(template) == [
        (None, "Sign out"),
        (None, "Inside a block %(x)s"),
        (None, "Upload"),
    ]
    assert _check_catalogue([(None, "Sign out")], "t") == []
    assert _check_catalogue([(None, "No such message, surely")], "t") == [
        "t: not in the zh-Hans catalogue: 'No such message, surely'"
    ]
    assert module_messages('raise X(Detail("A %(n)s thing.", n=1))') == [(None, "A %(n)s thing.")]
    assert module_messages('pgettext_lazy("status", "held")') == [("status", "held")]
    assert module_messages('A = "a", pgettext_lazy("status", "Published")') == [
        ("status", "Published")
    ]


# --- JavaScript -------------------------------------------------------------------------------
JS_FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "static").glob("**/*.js"))
# Literals of a script knowingly left unmarked, and why.
KNOWN_UNMARKED_JS: dict[str, list[str]] = {
    # The message of an error that is caught at once and never shown: the part is fetched again.
    "static/contributions/live.js": [" in the answer"],
    # The fixed prefix of the message a wallet signs for an upload (the server rebuilds it).
    "static/contributions/upload.js": ["datadao-contribution:"],
}
# Names the browser and HTTP define: keys (KeyboardEvent.key), headers, tag names.
JS_TECHNICAL = {
    "Enter", "Escape", "Delete", "Backspace", "Tab", "Shift", "ArrowLeft", "ArrowRight",
    "ArrowUp", "ArrowDown", "Accept", "Date", "Content-Type", "X-CSRFToken", "HX-Request",
    "TEXTAREA", "SELECT", "INPUT", "BUTTON", "SHA-256", "CID", "use strict",
}  # fmt: skip
# A literal right after one of these is a selector, a class, an event, an attribute or a key.
JS_CODE_CONTEXT = re.compile(
    r"(querySelector(All)?|closest|matches|getElementById|createElement|addEventListener|"
    r"removeEventListener|setAttribute|getAttribute|removeAttribute|hasAttribute|"
    r"classList\.\w+|localStorage\.\w+|headers\.get|searchParams\.\w+|el)\(\s*"
    r"(\"[^\"]*\",\s*)?$|(className|\.type|\.name|\.scope)\s*=\s*$|[=!]==?\s*$"
)
JS_MARKING = re.compile(r"\b(gettext|ngettext|pgettext|npgettext)\(\s*$")
JS_MARKING_MORE = re.compile(r"\b(ngettext|pgettext|npgettext)\(\s*(\"[^\"]*\"|'[^']*')\s*,\s*$")
JS_WORD = re.compile(r"[A-Za-z]{2,}")


def js_literals(source: str) -> list[tuple[int, str]]:
    """(offset, text) of each string literal of a script, comments and regular expressions
    skipped; a template literal's ${...} parts count as a space."""
    found, i, n = [], 0, len(source)
    last_code = ""  # the last character of code that is not a space: is a "/" a division?
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.find("*/", i + 2) + 2
        elif c == "/" and last_code not in ")]}" and not last_code.isalnum():
            i += 1  # a regular expression literal: to its closing slash, outside a class
            in_class = False
            while i < n and (source[i] != "/" or in_class):
                if source[i] == "\\":
                    i += 1
                elif source[i] == "[":
                    in_class = True
                elif source[i] == "]":
                    in_class = False
                i += 1
            i += 1
            last_code = "/"
        elif c in "\"'`":
            start, i, text = i, i + 1, []
            while i < n and source[i] != c:
                if source[i] == "\\":
                    text.append(source[i : i + 2])
                    i += 2
                elif c == "`" and source.startswith("${", i):
                    depth, i = 1, i + 2
                    while i < n and depth:
                        depth += {"{": 1, "}": -1}.get(source[i], 0)
                        i += 1
                    text.append(" ")
                else:
                    text.append(source[i])
                    i += 1
            i += 1
            found.append((start, "".join(text)))
            last_code = c
        else:
            if not c.isspace():
                last_code = c
            i += 1
    return found


def js_unmarked_text(source: str) -> list[str]:
    """The literals of a script that read as text for a person but are not the message of a
    gettext/ngettext/pgettext call: words with a space between them, a capitalised word, or a
    word that ends a sentence; selectors, classes, events, keys and comparisons are code."""
    problems = []
    for offset, text in js_literals(source):
        before = source[max(0, offset - 120) : offset]
        if JS_MARKING.search(before) or JS_MARKING_MORE.search(before):
            continue
        if JS_CODE_CONTEXT.search(before) or text in JS_TECHNICAL or not JS_WORD.search(text):
            continue
        prose = (
            re.search(r"[A-Za-z]{2,}\W*\s+\W*[A-Za-z]", text)
            or re.match(r"\s*[A-Z][a-z]", text)
            or re.search(r"[A-Za-z]{2,}[.:!?…]\s*$", text)
        )
        if prose:
            problems.append(text)
    return problems


def js_messages(source: str) -> list[tuple[str | None, str]]:
    """(context, msgid) of every gettext/ngettext/pgettext/npgettext call of a script."""
    string = r"\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    found = []
    for match in re.finditer(r"\b(n?p?gettext)\(" + string + r"(?:\s*," + string + ")?", source):
        name, first, second = match.groups()
        first = ast.literal_eval(first)
        if name.startswith(("p", "np")):
            found.append((first, ast.literal_eval(second)))
        else:
            found.append((None, first))
    return found


@pytest.mark.parametrize("path", JS_FILES)
def test_script_marks_every_string(path: str) -> None:
    assert js_unmarked_text((ROOT / path).read_text(encoding="utf-8")) == KNOWN_UNMARKED_JS.get(
        path, []
    )


@pytest.mark.parametrize("path", JS_FILES)
def test_script_is_fully_translated(path: str) -> None:
    messages = js_messages((ROOT / path).read_text(encoding="utf-8"))
    assert _check_catalogue(messages, path, JS_CATALOGUE) == []


def test_the_script_check_catches_an_unmarked_string() -> None:
    script = (
        'const a = "Plain words"; b.textContent = "Saved."; c.title = "Remove";\n'
        'd.querySelector("#list li"); e.className = "secondary span-remove";\n'
        'if (key === "Enter") f(gettext("Marked words"), pgettext("ctx", "Marked too"));\n'
        "g(interpolate(gettext('Box %(n)s'), { n: 1 }, true)); // \"commented words\"\n"
        'h(/["a-z ]+/g, "done"); i(`Template ${x} words`);'
    )
    assert js_unmarked_text(script) == ["Plain words", "Saved.", "Remove", "Template   words"]
    assert js_messages(script) == [
        (None, "Marked words"),
        ("ctx", "Marked too"),
        (None, "Box %(n)s"),
    ]
    assert _check_catalogue([(None, "No such message, surely")], "t", JS_CATALOGUE) == [
        "t: not in the zh-Hans catalogue: 'No such message, surely'"
    ]


# --- The console (Django's admin) and the management commands --------------------------------
# Where their text is shown: the message of these calls (the argument at that position)...
SHOWN_CALL_ARGUMENT = {
    "message_user": 1, "add_error": 1, "ValidationError": 0, "ObjectTool": 0, "CommandError": 0,
    "write": 0, "Http404": 0, "HttpResponse": 0,
}  # fmt: skip
# ...these keywords (form fields, admin.display/action, argparse)...
SHOWN_KEYWORDS = {
    "description", "label", "help_text", "verbose_name", "verbose_name_plural", "empty_label",
    "help", "epilog", "empty_value_display", "title",
}  # fmt: skip
# ...and these class attributes (admin sites, list filters, commands).
SHOWN_ATTRIBUTES = {
    "short_description", "help", "title", "empty_value_display", "site_header", "site_title",
    "index_title", "verbose_name", "verbose_name_plural",
}  # fmt: skip
SHOWN_WORDS = re.compile(r"[A-Za-z]{3,}")


def _literal_texts(node: ast.expr) -> list[str]:
    """The literal text of an expression that is a string, an f-string, a concatenation of
    them, or a choice between them; nothing for a call (a marked string is a call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    if isinstance(node, ast.BinOp):
        return _literal_texts(node.left) + _literal_texts(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_texts(node.body) + _literal_texts(node.orelse)
    return []


def unmarked_shown(source: str) -> list[str]:
    """Literal prose a console page or a command shows without marking it for translation:
    an admin message or label, a form's label or help, a command's help, output or error."""
    shown: list[ast.expr] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            position = SHOWN_CALL_ARGUMENT.get(name or "")
            if position is not None and len(node.args) > position:
                argument = node.args[position]
                # self.style.SUCCESS("…") inside a write: the text is its argument.
                if (
                    isinstance(argument, ast.Call)
                    and argument.args
                    and not isinstance(argument.func, ast.Name)
                ):
                    argument = argument.args[0]
                shown.append(argument)
            shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if getattr(target, "id", getattr(target, "attr", None)) in SHOWN_ATTRIBUTES:
                    shown.append(node.value)
    return [text for node in shown for text in _literal_texts(node) if SHOWN_WORDS.search(text)]


def console_and_command_modules() -> list[str]:
    """The console's modules (``admin*.py``, ``*_admin.py``, the admin site) and every
    management command of ours."""
    found = []
    for path in server_modules():
        name = Path(path).name
        if (
            (name.startswith("admin") and name.endswith(".py"))
            or name.endswith("_admin.py")
            or "/management/commands/" in path
        ):
            found.append(path)
    return [*found, "datadao/console.py"]


@pytest.mark.parametrize("path", console_and_command_modules())
def test_console_and_command_text_is_marked(path: str) -> None:
    assert unmarked_shown((ROOT / path).read_text(encoding="utf-8")) == []


def test_every_management_command_speaks_the_operators_language() -> None:
    """Run from the command line, a command follows LANGUAGE/LC_ALL/LC_MESSAGES/LANG."""
    from datadao.management.language import OperatorLanguage

    commands = [p for p in console_and_command_modules() if "/management/commands/" in p]
    assert len(commands) > 15
    for path in commands:
        if path.endswith("__init__.py"):
            continue
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert issubclass(module.Command, OperatorLanguage), path


def test_the_console_check_finds_unmarked_text() -> None:
    source = (
        'self.message_user(request, f"{n} datasets opened.")\n'
        'self.message_user(request, _("Marked %(n)s.") % {"n": n})\n'
        '@admin.display(description="Plain column")\ndef x(): pass\n'
        'raise CommandError("cannot " + "read")\n'
        'self.stdout.write(self.style.SUCCESS("Done all"))\n'
        'parser.add_argument("--x", help=_("marked help"))\n'
        'class C:\n    short_description = "Old style"\n    help = "no"\n'
        'self.stdout.write(f"{path}: {cid}")\n'
    )
    assert unmarked_shown(source) == [
        " datasets opened.", "Plain column", "cannot ", "read", "Done all", "Old style",
    ]  # fmt: skip
