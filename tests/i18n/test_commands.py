"""Management commands speak the operator's language: run from the command line, their help,
output and errors follow LANGUAGE/LC_ALL/LC_MESSAGES/LANG as the command lines do."""

from __future__ import annotations

import pytest
from django.core.management import load_command_class
from django.utils import translation


def _locale(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", lang)


def _refusal(capsys: pytest.CaptureFixture[str]) -> str:
    command = load_command_class("ipfs", "ipfs_gc")
    with pytest.raises(SystemExit) as stopped:
        command.run_from_argv(["manage.py", "ipfs_gc", "--grace", "-1"])
    assert stopped.value.code == 1
    return capsys.readouterr().err


def test_a_command_refusal_follows_the_environment_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = translation.get_language()
    _locale(monkeypatch, "zh_CN.UTF-8")
    assert _refusal(capsys) == "CommandError: --grace 必须为 0 秒或以上。\n"
    _locale(monkeypatch, "C.UTF-8")
    assert _refusal(capsys) == "CommandError: --grace must be 0 seconds or more.\n"
    # The language is the command's own: the process's stays as it was.
    assert translation.get_language() == before


def test_a_commands_help_follows_the_environment_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _locale(monkeypatch, "zh_CN.UTF-8")
    load_command_class("contributions", "rotate_data_keys").print_help(
        "manage.py", "rotate_data_keys"
    )
    text = capsys.readouterr().out
    assert "用当前的 KEK" in text and "显示最近一次轮换" in text
