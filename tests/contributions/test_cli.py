"""The ``contribute`` command against a live HTTP server: SIWE sign-in, signed streamed uploads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from eth_account import Account

from contributions.models import Contribution
from datadao.models import Membership, Role
from tests.contributions.conftest import good_csv
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    account = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "pw-for-test")))
    monkeypatch.setenv("DATADAO_KEY_PASSWORD", "pw-for-test")
    return account, path


def test_contribute_signs_in_and_uploads_signed_files(
    live_server, tabular, keystore, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    account, key_file = keystore
    user = UserFactory(address=account.address)
    Membership.objects.create(dao=tabular.dao, user=user, role=Role.CONTRIBUTOR)
    files = []
    for i in range(2):
        path = tmp_path / f"part{i}.csv"
        path.write_bytes(good_csv(3, start=10 * i))
        files.append(str(path))
    call_command(
        "contribute", str(tabular.pk), *files, "--key-file", str(key_file), "--url", live_server.url
    )
    out = capsys.readouterr().out
    assert out.count("\t#") == 2
    rows = Contribution.objects.filter(contributor=user).order_by("id")
    assert [c.signed for c in rows] == [True, True]
    assert [c.size for c in rows] == [Path(f).stat().st_size for f in files]


def test_contribute_reports_the_servers_refusal(live_server, tabular, keystore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, key_file = keystore  # this key's address is not a member of the DAO
    path = tmp_path / "x.csv"
    path.write_bytes(good_csv(2))
    with pytest.raises(CommandError, match="Only members"):
        call_command(
            "contribute",
            str(tabular.pk),
            str(path),
            "--key-file",
            str(key_file),
            "--url",
            live_server.url,
        )
    assert not Contribution.objects.exists()


def test_contribute_refuses_a_wrong_password(tabular, keystore, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, key_file = keystore
    monkeypatch.setenv("DATADAO_KEY_PASSWORD", "wrong")
    path = tmp_path / "x.csv"
    path.write_bytes(good_csv(2))
    with pytest.raises(CommandError, match="cannot open the keystore"):
        call_command("contribute", str(tabular.pk), str(path), "--key-file", str(key_file))
