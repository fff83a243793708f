"""The command lines (``datadao``, ``datadao validator``) in the user's language: stdlib
gettext over catalogues shipped with each package, chosen from LANGUAGE/LC_ALL/LC_MESSAGES/
LANG as GNU gettext tools choose. Every message they mark must be translated, every message
they show must be marked, and the committed ``.mo`` must be what its ``.po`` compiles to."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import datadao_cli.i18n as cli_i18n
import datadao_validator.i18n as validator_i18n
import datadao_verify.i18n as verify_i18n
from datadao.catalogues import Entry, mo_bytes, parse_po
from datadao_client.transport import Transport

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "datadao_cli": cli_i18n,
    "datadao_validator": validator_i18n,
    "datadao_verify": verify_i18n,
}
BRACES = re.compile(r"\{(\w*)[^{}]*\}")
NAMED = re.compile(r"%\((\w+)\)s")
# Calls whose text a person reads: lines written, prompts, refusals, the parsers' help.
SHOWN_CALLS = {"print", "say", "show", "getpass", "KeyFileError", "KeystoreError", "ApiError"}
# The verifier's findings and refusals: a message given to these is printed to the reader
# (translated by ``datadao_verify.i18n.shown``), so it must be a ``Detail``, not literal text.
FINDING_CALLS = {
    "discrepancy",
    "note",
    "Unverifiable",
    "unverifiable",
    "IpfsCorrupt",
    "IpfsNotFound",
    "IpfsUnavailable",
}
SHOWN_KEYWORDS = {"help", "description", "epilog"}
# Words that are not prose: a literal text needing no translation.
WORDS = re.compile(r"[A-Za-z]{3,}")


def catalogue_path(package: str) -> Path:
    return ROOT / package / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{package}.po"


def entries(package: str) -> dict[str, Entry]:
    parsed = parse_po(catalogue_path(package).read_text(encoding="utf-8"))
    return {e.msgid: e for e in parsed if e.msgid}


def marked(package: str) -> list[tuple[str, str]]:
    """(module, message) of every ``_("...")``, ``N_("...")`` and ``Detail("...")`` (a
    finding's message, translated where it is printed) in the package."""
    found = []
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("_", "N_", "Detail")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append((path.name, node.args[0].value))
    return found


def unmarked(source: str) -> list[str]:
    """Literal prose passed straight to what a person reads, not through ``_``."""
    problems = []

    def check(value: ast.expr) -> None:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            text = value.value
        elif isinstance(value, ast.JoinedStr):
            text = "".join(v.value for v in value.values if isinstance(v, ast.Constant))
        elif isinstance(value, ast.BinOp):  # "a" + "b"
            check(value.left)
            check(value.right)
            return
        else:
            return
        if WORDS.search(text):
            problems.append(text)

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name in SHOWN_CALLS | FINDING_CALLS:
            for position, arg in enumerate(node.args):
                # A finding's kind (its second argument) is a code, like the API's.
                if not (name in ("discrepancy", "note") and position == 1):
                    check(arg)
        # A finding kept for later: (subject, kind, message); the kind is a code.
        if name == "append" and node.args and isinstance(node.args[0], ast.Tuple):
            subject, *_kind, message = node.args[0].elts
            check(subject)
            check(message)
        for keyword in node.keywords:
            if keyword.arg in SHOWN_KEYWORDS:
                check(keyword.value)
    return problems


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_marked_message_is_translated_with_its_placeholders(package: str) -> None:
    catalogue = entries(package)
    problems = []
    for module, message in marked(package):
        entry = catalogue.get(message)
        if entry is None or not entry.translated or entry.fuzzy:
            problems.append(f"{module}: no zh-Hans translation: {message!r}")
        elif sorted(BRACES.findall(entry.msgstr[0])) != sorted(BRACES.findall(message)) or set(
            NAMED.findall(entry.msgstr[0])
        ) != set(NAMED.findall(message)):
            problems.append(f"{module}: placeholders differ: {message!r}")
    assert problems == []
    assert set(catalogue) == {m for _, m in marked(package)}, "entries no code uses"


@pytest.mark.parametrize(
    "path",
    sorted(str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).glob("*.py")),
)
def test_every_message_shown_is_marked(path: str) -> None:
    assert unmarked((ROOT / path).read_text(encoding="utf-8")) == []


def test_the_check_finds_unmarked_prose() -> None:
    source = (
        'say(f"uploaded {n} files")\nprint(_("marked"))\nsay(f"#{i} {p}: {s}")\n'
        'p.add_argument("--x", help="plain help")\nraise KeyFileError("cannot " + "open")\n'
        'report.discrepancy(Detail("manifest"), "manifest", f"bad total {n}")\n'
        'report.note(Detail("grant"), "grant", Detail("marked %(x)s", x=1))\n'
        'raise Unverifiable("no manifest")\n'
        'outcome.notes.append((f"contribution #{pk}", "content", "not checked"))\n'
    )
    assert unmarked(source) == [
        "uploaded  files",
        "plain help",
        "cannot ",
        "open",
        "bad total ",
        "no manifest",
        "contribution #",
        "not checked",
    ]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_the_committed_mo_is_what_the_po_compiles_to(package: str) -> None:
    """The ``.mo`` ships in the package (an installed client has no compiler); after editing
    the ``.po``, run ``manage.py compilecatalogues`` and commit both."""
    po = catalogue_path(package)
    compiled = mo_bytes(parse_po(po.read_text(encoding="utf-8")))
    assert po.with_suffix(".mo").read_bytes() == compiled
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(po.with_suffix(".mo").relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert tracked.returncode == 0, "the .mo is not committed"


ENVIRONMENTS = [
    ({"LANG": "zh_CN.UTF-8"}, ["zh_Hans"]),
    ({"LANG": "zh_SG"}, ["zh_Hans"]),
    ({"LC_ALL": "zh-Hans-CN"}, ["zh_Hans"]),
    ({"LANG": "zh"}, ["zh_Hans"]),
    ({"LANG": "zh_TW.UTF-8"}, []),  # Traditional Chinese: no catalogue, English
    ({"LANG": "en_US.UTF-8"}, []),
    ({}, []),
    # LC_ALL wins over LC_MESSAGES, which wins over LANG.
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, []),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, ["zh_Hans"]),
    # LANGUAGE is a list of preferences, read first...
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, ["zh_Hans"]),
    ({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}, []),
    ({"LANGUAGE": "fr:zh_CN", "LANG": "fr_FR.UTF-8"}, ["zh_Hans"]),
    # ...but not when the locale is C, as GNU gettext does.
    ({"LANGUAGE": "zh_CN", "LC_ALL": "C.UTF-8"}, []),
    ({"LANGUAGE": "zh_CN"}, []),
]


@pytest.mark.parametrize(
    ("environ", "expected"), ENVIRONMENTS, ids=[str(i) for i in range(len(ENVIRONMENTS))]
)
def test_the_language_follows_the_environment_as_gettext_tools_do(
    environ: dict[str, str], expected: list[str]
) -> None:
    # Both command lines read the SDK's rule (datadao_client.language).
    assert cli_i18n.languages(environ) == validator_i18n.languages(environ) == expected
    assert verify_i18n.languages(environ) == expected


def _run(module: str, args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "PYTHONPATH": f"{ROOT}:{ROOT / 'clients' / 'python' / 'src'}",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_cli_refusal_under_a_chinese_locale_is_chinese(tmp_path: Path) -> None:
    args = ["contribute", "3", "missing.csv", "--key-file", "k.json"]
    chinese = _run("datadao_cli", args, tmp_path, LANG="zh_CN.UTF-8")
    english = _run("datadao_cli", args, tmp_path, LANG="C.UTF-8")
    assert chinese.returncode == english.returncode == 2
    assert chinese.stderr == "datadao：所有文件都无法读取：missing.csv\n"
    assert english.stderr == "datadao: none of the files can be read: missing.csv\n"
    # LANGUAGE before LANG, as gettext tools read them.
    preferred = _run("datadao_cli", args, tmp_path, LANG="zh_CN.UTF-8", LANGUAGE="en")
    assert preferred.stderr == english.stderr


def test_cli_help_under_a_chinese_locale_is_chinese(tmp_path: Path) -> None:
    done = _run("datadao_cli", ["contribute", "--help"], tmp_path, LC_ALL="zh_CN.UTF-8")
    assert done.returncode == 0
    assert "用你的钱包登录" in done.stdout
    assert "退出状态：" in done.stdout


def test_a_validator_refusal_under_a_chinese_locale_is_chinese(tmp_path: Path) -> None:
    done = _run("datadao_validator", ["run"], tmp_path, LANG="zh_CN.UTF-8")
    assert done.returncode == 2
    assert done.stderr == "datadao validator：请给出 --api URL 和 --key-file KEY\n"
    key = tmp_path / "key.txt"
    key.write_text("not a key\n")
    done = _run(
        "datadao_validator",
        ["run", "--api", "http://127.0.0.1:9", "--key-file", str(key)],
        tmp_path,
        LANG="zh_CN.UTF-8",
    )
    assert done.returncode == 2
    assert done.stderr == f"datadao validator：{key} 既不是密钥库，也不是十六进制密钥\n"


def test_a_verifier_refusal_and_its_help_under_a_chinese_locale_are_chinese(
    tmp_path: Path,
) -> None:
    args = ["bafkreiabc", "--ipfs", str(tmp_path / "no-store")]
    chinese = _run("datadao_verify", args, tmp_path, LANG="zh_CN.UTF-8")
    english = _run("datadao_verify", args, tmp_path, LANG="C.UTF-8")
    assert chinese.returncode == english.returncode == 2
    assert chinese.stderr.startswith("datadao verify：--ipfs ")
    assert "既不是 http(s) URL" in chinese.stderr
    assert english.stderr.startswith("datadao verify: --ipfs ")
    assert "is neither an http(s) URL" in english.stderr
    done = _run("datadao_verify", ["--help"], tmp_path, LC_ALL="zh_CN.UTF-8")
    assert done.returncode == 0
    assert "只凭 IPFS 重放一个数据集发布" in done.stdout and "退出状态：" in done.stdout


def test_the_verifier_summary_follows_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary line is translated; the JSON report (``to_dict``) stays English."""
    from datadao_client import language
    from datadao_verify.report import Report

    report = Report(cid="bafy", source="x", dataset={"dao": "d", "slug": "s"}, version=2)
    report.contributions = report.content_checked = report.replayed = 3
    report.discrepancy("contribution #1", "content", "bytes differ")
    messages = verify_i18n._.__self__  # the Messages the verifier reads, on first use

    def summary_in(wanted: list[str]) -> str:
        monkeypatch.setattr(language, "languages", lambda environ=None: wanted)
        messages.__dict__.pop("catalogue", None)
        try:
            return report.summary()
        finally:
            messages.__dict__.pop("catalogue", None)

    english, chinese = summary_in([]), summary_in([language.SIMPLIFIED])
    assert english.startswith("release bafy (d/s v2): 3 contributions (3 contents checked")
    assert english.endswith(": 1 discrepancy")
    assert chinese.startswith("发布 bafy（d/s v2）：3 项贡献（检查了 3 份内容")
    assert chinese.endswith("：1 处不一致")
    assert report.to_dict()["discrepancies"] == [
        {"subject": "contribution #1", "kind": "content", "message": "bytes differ"}
    ]


def test_the_clients_ask_the_server_for_its_refusals_in_the_same_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in PACKAGES.values():
        for environ, header in (({"LANG": "zh_CN.UTF-8"}, "zh-CN, zh;q=0.9"), ({}, None)):
            monkeypatch.setattr(os, "environ", environ)
            assert module.accept_language() == header
    assert Transport("http://x", language="zh-CN").session.headers["Accept-Language"] == "zh-CN"
    assert "Accept-Language" not in Transport("http://x").session.headers


def test_a_verifier_finding_refusal_is_chinese_and_its_json_english(tmp_path: Path) -> None:
    """A refusal built of ``Detail``s (an IPFS error inside the verifier's) is translated whole
    when printed; the ``--json`` report keeps the English."""
    from ipfs.cid import Cid

    store = tmp_path / "store"
    (store / "blocks").mkdir(parents=True)
    cid = str(Cid.of_block(b"nowhere", codec=0x55))
    args = [cid, "--ipfs", str(store), "--json", "report.json"]
    chinese = _run("datadao_verify", args, tmp_path, LANG="zh_CN.UTF-8")
    assert chinese.returncode == 2
    assert chinese.stderr == f"datadao verify：无法获取清单：块 {cid} 不在 存储 {store} 中\n"
    english = f"the manifest cannot be fetched: block {cid} is not in the store {store}"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["error"] == english
    done = _run("datadao_verify", args, tmp_path, LANG="C.UTF-8")
    assert done.stderr == f"datadao verify: {english}\n"
