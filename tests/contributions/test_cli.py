"""The contributor's client (``datadao``, ``datadao_cli``) as a real process against a live
server: SIWE sign-in, signed streamed uploads, batches that survive a refusal, ``--wait`` with a
real worker, keystores. The client's environment holds no server setting (no DEBUG, no
SECRET_KEY, no DJANGO_SETTINGS_MODULE, no database): a contributor has none."""

from __future__ import annotations

import io
import json
import os
import pty
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from eth_account import Account

from contributions.attestation import ownership_message
from contributions.models import Contribution, Status
from datadao.models import Membership, Role
from datadao_client import ownership_message as client_ownership_message
from tests.contributions.conftest import good_csv
from tests.factories import UserFactory
from tests.fixtures_celery import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-test"
# Rejected by the worker's validation: 500 is over the schema's maximum, 'c' not allowed.
BAD_CSV = b"id,value,kind\n1,5.5,a\n2,500,c\n"
SERVER_SETTINGS = ("DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """What a contributor's shell has: a PATH, a HOME, the client and its SDK on the Python
    path; no server settings."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'clients' / 'python' / 'src'}",
        "LC_ALL": "C.UTF-8",
        **extra,
    }
    assert not set(SERVER_SETTINGS) & set(env)
    return env


def run(
    args: list[str],
    home: Path,
    *,
    command: list[str] | None = None,
    stdin: str | None = None,
    timeout: float = 240,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    # A new session: no controlling terminal, so getpass reads the password from stdin.
    return subprocess.run(
        [*(command or [sys.executable, "-m", "datadao_cli"]), *args],
        cwd=home,
        env=client_env(home, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inside.csv", good_csv(3))
    return buffer.getvalue()


def table_row(stdout: str, path: Path) -> list[str]:
    """The summary row of one file: FILE, ID, RESULT, DETAIL (columns two spaces or more
    apart)."""
    [line] = [line for line in stdout.splitlines() if line.startswith(f"{path} ")]
    return re.split(r"\s{2,}", line, maxsplit=3)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def keystore(home: Path):  # type: ignore[no-untyped-def]
    """A key (pbkdf2 with few rounds: it guards nothing, and scrypt would only slow the
    tests) and a password file for it."""
    account = Account.create()
    path = home / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, "pbkdf2", 1000)))
    password_file = home / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    return account, path, password_file


@pytest.fixture
def contributor(keystore, tabular):  # type: ignore[no-untyped-def]
    account, *_ = keystore
    user = UserFactory(address=account.address)
    Membership.objects.create(dao=tabular.dao, user=user, role=Role.CONTRIBUTOR)
    return user


def contribute_args(dataset_id: int, files: list[Path], keystore, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    _, key_file, password_file = keystore
    return [
        "contribute",
        str(dataset_id),
        *map(str, files),
        "--key-file",
        str(key_file),
        "--password-file",
        str(password_file),
        "--url",
        url,
    ]


# --- no server settings ---------------------------------------------------------------------------


def test_help_runs_without_server_settings(home: Path) -> None:
    for command, args in [
        ([str(ROOT / "bin" / "datadao")], ["--help"]),
        ([str(ROOT / "bin" / "datadao")], ["contribute", "--help"]),
        ([sys.executable, "-m", "datadao_cli"], ["keystore", "new", "--help"]),
        ([sys.executable, str(ROOT / "manage.py")], ["contribute", "--help"]),
    ]:
        done = run(args, home, command=command)
        assert done.returncode == 0, (command, args, done.stderr)
        assert "usage: datadao" in done.stdout and not done.stderr
    contribute_help = run(["contribute", "--help"], home).stdout
    for option in ("--key-file", "--password-file", "--wait", "--timeout", "--json"):
        assert option in contribute_help
    assert "exit status" in contribute_help


def test_the_client_imports_nothing_of_the_server(home: Path) -> None:
    code = (
        "import sys, datadao_cli.main\n"
        "server = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'contributions', 'datadao', 'rewards', 'labeling', 'ipfs', 'synthetic'})\n"
        "print(server)"
    )
    done = run(["-c", code], home, command=[sys.executable])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_installed_console_script_runs_outside_the_checkout(tmp_path: Path, home: Path) -> None:
    """``pip install .`` gives a ``datadao`` command made of the client package and the SDK it
    is built on, alone: it runs from a folder with no checkout on the path."""
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source, wheels = tmp_path / "source", tmp_path / "wheels"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "datadao_cli", source / "datadao_cli")
    sdk = Path("clients", "python", "src", "datadao_client")
    shutil.copytree(ROOT / sdk, source / sdk)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    [wheel] = wheels.glob("datadao-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(
            next(n for n in names if n.endswith("entry_points.txt"))
        ).decode()
    assert {n.split("/")[0] for n in names if not n.startswith("datadao-")} == {
        "datadao_cli",
        "datadao_client",
    }
    assert "datadao = datadao_cli.main:main" in entry_points
    # The messages' catalogue ships compiled: an installed client has no compiler.
    assert "datadao_cli/locale/zh_Hans/LC_MESSAGES/datadao_cli.mo" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    # Its two dependencies from this environment; the checkout is not on the path.
    import requests

    site = str(Path(requests.__file__).parent.parent)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": site}
    done = subprocess.run(
        [str(venv / "bin" / "datadao"), "keystore", "new", "k.json"],
        cwd=home,
        env=env,
        input="installed-pw\ninstalled-pw\n",
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Account.decrypt(json.loads((home / "k.json").read_text()), "installed-pw")
    again = subprocess.run(
        [str(venv / "bin" / "datadao"), "keystore", "new", "k.json"],
        cwd=home,
        env={**env, "LANG": "zh_CN.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )
    assert again.returncode == 2
    assert again.stderr == "datadao：k.json 已存在：拒绝覆盖密钥库\n"


def test_the_client_signs_the_text_the_server_checks() -> None:
    digest = "ab" * 32
    for site, dataset in [("datadao.example.org", 5), ("127.0.0.1:8000", 123)]:
        assert client_ownership_message(site, dataset, digest) == ownership_message(
            site, dataset, digest
        )


# --- contribute -----------------------------------------------------------------------------------

live = pytest.mark.django_db(transaction=True)


@live
def test_contribute_signs_in_and_uploads_signed_files(
    live_server, tabular, keystore, contributor, home
) -> None:  # type: ignore[no-untyped-def]
    files = []
    for i in range(2):
        path = home / f"part{i}.csv"
        path.write_bytes(good_csv(3, start=10 * i))
        files.append(path)
    done = run(contribute_args(tabular.pk, files, keystore, live_server.url), home)
    assert done.returncode == 0, done.stderr
    rows = list(Contribution.objects.filter(contributor=contributor).order_by("id"))
    assert [c.signed for c in rows] == [True, True]
    assert [c.size for c in rows] == [f.stat().st_size for f in files]
    for path, contribution in zip(files, rows, strict=True):
        assert table_row(done.stdout, path)[:3] == [str(path), f"#{contribution.pk}", "received"]
    assert "2 file(s): 2 received" in done.stdout
    assert f"as {keystore[0].address}" in done.stderr


@live
def test_a_refused_file_does_not_stop_the_batch(
    live_server, tabular, keystore, contributor, home
) -> None:  # type: ignore[no-untyped-def]
    first, refused, last = home / "a.csv", home / "b.zip", home / "c.csv"
    first.write_bytes(good_csv(3))
    refused.write_bytes(zip_bytes())
    last.write_bytes(good_csv(3, start=50))
    done = run(contribute_args(tabular.pk, [first, refused, last], keystore, live_server.url), home)
    assert done.returncode == 1, done.stderr
    kept = {c.original_name: c for c in Contribution.objects.filter(contributor=contributor)}
    assert set(kept) == {"a.csv", "c.csv"} and all(c.signed for c in kept.values())
    assert table_row(done.stdout, first)[:3] == [str(first), f"#{kept['a.csv'].pk}", "received"]
    assert table_row(done.stdout, last)[:3] == [str(last), f"#{kept['c.csv'].pk}", "received"]
    _, ident, result, detail = table_row(done.stdout, refused)
    assert (ident, result) == ("-", "refused 415 unsupported_type")
    assert detail.startswith("This dataset accepts application/x-ndjson, text/csv, but")
    assert "3 file(s): 2 received, 1 refused" in done.stdout
    # The order of the batch is kept: the refusal is reported between the two uploads.
    progress = done.stderr.splitlines()
    assert [line.split(": ")[0] for line in progress if line.startswith("[")] == [
        f"[1/3] {first}",
        f"[2/3] {refused}",
        f"[3/3] {last}",
    ]


@live
def test_a_terminal_sees_each_file_progress(
    live_server, tabular, keystore, contributor, home
) -> None:  # type: ignore[no-untyped-def]
    path = home / "big.csv"
    path.write_bytes(good_csv(30_000))
    size = path.stat().st_size
    assert 100_000 < size < 1_000_000  # under the dataset's limit
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datadao_cli",
                *contribute_args(tabular.pk, [path], keystore, live_server.url),
            ],
            cwd=home,
            env=client_env(home),
            stdout=subprocess.PIPE,
            stderr=terminal,
            start_new_session=True,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other side closed: the process is done
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0
    finally:
        os.close(controller)
    text = shown.decode()
    assert f"[1/1] {path}: 100% of {size / 1000:.1f} kB" in text
    # The outcome line clears the progress line it follows.
    assert f"\r\x1b[K[1/1] {path}: uploaded as #" in text


@live
def test_a_missing_file_is_reported_and_the_rest_still_go(
    live_server, tabular, keystore, contributor, home
) -> None:  # type: ignore[no-untyped-def]
    present, missing = home / "here.csv", home / "gone.csv"
    present.write_bytes(good_csv(2))
    done = run(
        [*contribute_args(tabular.pk, [missing, present], keystore, live_server.url), "--json"],
        home,
    )
    assert done.returncode == 1, done.stderr
    [gone, here] = json.loads(done.stdout)
    assert (gone["id"], gone["result"], gone["detail"]) == (
        None,
        "error unreadable",
        "not a readable file",
    )
    contribution = Contribution.objects.get(contributor=contributor)
    assert (here["id"], here["status"]) == (contribution.pk, "received")


@live
def test_a_non_member_sees_each_refusal(live_server, tabular, keystore, home) -> None:  # type: ignore[no-untyped-def]
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    done = run(contribute_args(tabular.pk, [path], keystore, live_server.url), home)
    assert done.returncode == 1
    _, ident, result, detail = table_row(done.stdout, path)
    assert (ident, result) == ("-", "refused 403 not_a_member")
    assert "Only members" in detail
    assert not Contribution.objects.exists()


@live
def test_under_a_chinese_locale_the_summary_and_the_refusal_are_chinese(  # type: ignore[no-untyped-def]
    live_server, tabular, keystore, home
) -> None:
    """The client's own words from its catalogue, the server's refusal in the same language
    (Accept-Language), the codes and states as the API writes them."""
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    done = run(
        contribute_args(tabular.pk, [path], keystore, live_server.url), home, LC_ALL="zh_CN.UTF-8"
    )
    assert done.returncode == 1
    assert re.split(r"\s{2,}", done.stdout.splitlines()[0]) == ["文件", "编号", "结果", "详情"]
    _, ident, result, detail = table_row(done.stdout, path)
    assert (ident, result) == ("-", "refused 403 not_a_member")
    assert detail == f"只有 {tabular.dao.name} 的成员才能向其贡献。"
    assert done.stdout.splitlines()[-1] == "共 1 个文件：1 refused"
    assert "已以 0x" in done.stderr


@live
def test_a_wrong_password_attempts_nothing(live_server, tabular, keystore, home) -> None:  # type: ignore[no-untyped-def]
    _, key_file, _ = keystore
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    args = ["contribute", str(tabular.pk), str(path), "--key-file", str(key_file)]
    done = run([*args, "--url", live_server.url], home, DATADAO_KEY_PASSWORD="wrong")
    assert done.returncode == 2
    assert "cannot open the keystore" in done.stderr and not done.stdout
    assert not Contribution.objects.exists()


def test_an_unreachable_server_attempts_nothing(keystore, home) -> None:  # type: ignore[no-untyped-def]
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    done = run(contribute_args(1, [path], keystore, url), home)
    assert done.returncode == 2 and not done.stdout
    assert f"cannot sign in at {url}: connection_error" in done.stderr


@live
@pytest.mark.worker
def test_wait_follows_every_file_to_its_final_state(
    live_server, tabular, keystore, contributor, home, celery_worker: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    good, bad, refused = home / "good.csv", home / "bad.csv", home / "archive.zip"
    good.write_bytes(good_csv(20))
    bad.write_bytes(BAD_CSV)
    refused.write_bytes(zip_bytes())
    args = contribute_args(tabular.pk, [good, refused, bad], keystore, live_server.url)
    done = run([*args, "--wait", "--timeout", "180"], home)
    assert done.returncode == 1, done.stderr + celery_worker.log()[-3000:]
    pinned = Contribution.objects.get(contributor=contributor, original_name="good.csv")
    rejected = Contribution.objects.get(contributor=contributor, original_name="bad.csv")
    assert (pinned.status, rejected.status) == (Status.PINNED, Status.REJECTED)
    assert table_row(done.stdout, good) == [
        str(good),
        f"#{pinned.pk}",
        "pinned",
        f"CID {pinned.cid}",
    ]
    assert table_row(done.stdout, bad) == [
        str(bad),
        f"#{rejected.pk}",
        "rejected",
        "; ".join(rejected.reasons),
    ]
    assert table_row(done.stdout, refused)[2] == "refused 415 unsupported_type"
    assert "3 file(s): 1 pinned, 1 refused, 1 rejected" in done.stdout
    # Progress: the wait is announced and each final state is reported as it is seen.
    assert "waiting up to 180 s for 2 contribution(s)" in done.stderr
    assert f"#{pinned.pk} {good}: pinned — CID {pinned.cid}" in done.stderr
    assert f"#{rejected.pk} {bad}: rejected — " in done.stderr


@live
def test_wait_gives_up_at_its_timeout(live_server, tabular, keystore, contributor, home) -> None:  # type: ignore[no-untyped-def]
    """No worker runs: the upload stays received, and the wait ends at its timeout as a
    failure that says so."""
    path = home / "slow.csv"
    path.write_bytes(good_csv(2))
    args = contribute_args(tabular.pk, [path], keystore, live_server.url)
    done = run([*args, "--wait", "--timeout", "2"], home)
    assert done.returncode == 1
    contribution = Contribution.objects.get(contributor=contributor)
    assert table_row(done.stdout, path) == [
        str(path),
        f"#{contribution.pk}",
        "received (timed out)",
        "not final after 2 s",
    ]
    assert "timed out after 2 s: 1 contribution(s) not final" in done.stderr


@live
def test_ctrl_c_still_prints_the_summary(live_server, tabular, keystore, contributor, home) -> None:  # type: ignore[no-untyped-def]
    """No worker runs, so the wait goes on until the contributor presses Ctrl-C: the summary
    still lists the upload, as not final, and the exit status says it was interrupted."""
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    args = contribute_args(tabular.pk, [path], keystore, live_server.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "datadao_cli", *args, "--wait", "--timeout", "120"],
        cwd=home,
        env=client_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        while not any("waiting up to" in line for line in seen):
            line = process.stderr.readline()  # type: ignore[union-attr]
            assert line, f"the client ended before waiting: {''.join(seen)}"
            seen.append(line)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    contribution = Contribution.objects.get(contributor=contributor)
    assert table_row(out, path) == [
        str(path),
        f"#{contribution.pk}",
        "received (interrupted)",
        "still received when the wait was interrupted",
    ]
    assert "1 file(s): 1 interrupted" in out
    assert "interrupted: 1 contribution(s) not final" in err


@live
def test_manage_py_contribute_is_the_same_client(
    live_server, tabular, keystore, contributor, home
) -> None:  # type: ignore[no-untyped-def]
    path = home / "x.csv"
    path.write_bytes(good_csv(2))
    args = contribute_args(tabular.pk, [path], keystore, live_server.url)[1:]
    call_command("contribute", *args)
    assert Contribution.objects.get(contributor=contributor).signed
    path.write_bytes(zip_bytes())
    with pytest.raises(CommandError, match="exited with status 1") as raised:
        call_command("contribute", *args)
    assert raised.value.returncode == 1


# --- keystores ------------------------------------------------------------------------------------


def test_keystore_new_writes_an_owner_only_file_for_the_printed_address(home: Path) -> None:
    password_file = home / "pw.txt"
    password_file.write_text("correct horse battery\n")
    done = run(["keystore", "new", "me.json", "--password-file", str(password_file)], home)
    assert done.returncode == 0, done.stderr
    address = done.stdout.strip()
    key_file = home / "me.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    document = json.loads(key_file.read_text())
    assert document["crypto"]["kdf"] == "scrypt"
    key = Account.decrypt(document, "correct horse battery")
    assert Account.from_key(key).address == address
    with pytest.raises(ValueError, match="MAC mismatch"):
        Account.decrypt(document, "correct horse battery\n")
    shown = run(["keystore", "address", str(key_file)], home)
    assert (shown.returncode, shown.stdout.strip()) == (0, address)

    before = key_file.read_bytes()
    again = run(["keystore", "new", "me.json", "--password-file", str(password_file)], home)
    assert again.returncode == 2
    assert "already exists: refusing to overwrite" in again.stderr and not again.stdout
    assert key_file.read_bytes() == before


def test_keystore_new_asks_for_the_password_twice(home: Path) -> None:
    differ = run(["keystore", "new", "a.json"], home, stdin="one-password\nanother\n")
    assert differ.returncode == 2 and "the two passwords differ" in differ.stderr
    assert not (home / "a.json").exists()
    same = run(["keystore", "new", "a.json"], home, stdin="one-password\none-password\n")
    assert same.returncode == 0, same.stderr
    document = json.loads((home / "a.json").read_text())
    assert Account.from_key(Account.decrypt(document, "one-password")).address == (
        same.stdout.strip()
    )


def test_keystore_refusals_name_the_problem(home: Path) -> None:
    empty = home / "empty.txt"
    empty.write_text("\n")
    done = run(["keystore", "new", "k.json", "--password-file", str(empty)], home)
    assert done.returncode == 2 and "is empty" in done.stderr
    assert not (home / "k.json").exists()
    (home / "not-a-key.json").write_text('{"hello": 1}')
    done = run(["keystore", "address", "not-a-key.json"], home)
    assert done.returncode == 2 and "is not a keystore" in done.stderr
    done = run(["keystore", "address", "nowhere.json"], home)
    assert done.returncode == 2 and "cannot read nowhere.json" in done.stderr


@live
@pytest.mark.worker
def test_wait_shows_each_attestation_and_stops_at_held(
    live_server, tabular, keystore, contributor, home, celery_worker: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    """A DAO with a 2-of-3 validator set: while its validators attest the file, the wait shows
    each attestation (k of n); when they cannot agree the file is held, which ends the wait
    with a message saying who moves it on, and a non-zero exit."""
    from django.test import Client

    from tests.contributions.quorum import attest, register, validator_keys

    keys = validator_keys(3, tag="cli-wait")
    register(tabular.dao, keys, 2)
    path = home / "attested.csv"
    path.write_bytes(good_csv(6, start=700))
    args = contribute_args(tabular.pk, [path], keystore, live_server.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "datadao_cli", *args, "--wait", "--timeout", "240"],
        cwd=home,
        env=client_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr],  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    seen: list[str] = []

    def until(text: str) -> None:
        while not any(text in line for line in seen):
            try:
                seen.append(lines.get(timeout=120))
            except queue.Empty:
                pytest.fail(f"no {text!r} from the client: {''.join(seen)}{celery_worker.log()}")

    try:
        until("attesting — 0 of 3 validators attested, 2 must agree")
        pk = Contribution.objects.get(contributor=contributor).pk
        client = Client()
        assert attest(client, keys[0], pk).status_code == 201
        until("attesting — 1 of 3 validators attested, 2 must agree")
        # Two more, each out of line in its own way: no two of the three agree.
        assert attest(client, keys[1], pk, perturb=-10).status_code == 201
        assert attest(client, keys[2], pk, perturb=-20).status_code == 201
        process.wait(timeout=120)
        out = process.stdout.read()  # type: ignore[union-attr]
        # Every line the reader took, to the end of the client's stderr.
        reader.join(timeout=30)
        while not lines.empty():
            seen.append(lines.get())
    finally:
        if process.poll() is None:
            process.kill()
    stderr = "".join(seen)
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.HELD
    assert process.returncode == 1, stderr
    held = contribution.reasons[-1]
    assert held.startswith("Held for the DAO's review: no 2 of its 3 validators agree")
    assert f"#{pk} {path}: held — {held}" in stderr
    assert f"#{pk} {path}: not waiting any longer: the DAO's creators and admins review" in stderr
    assert table_row(out, path) == [str(path), f"#{pk}", "held", held]
    assert "1 file(s): 1 held" in out
