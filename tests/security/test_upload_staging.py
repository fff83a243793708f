"""Nobody can fill the disk through the upload endpoint: every refused or broken upload leaves
the staging folder empty.

Each attack goes through the real HTTP stack (pytest-django's live server: a real socket, the
WSGI server's streamed ``wsgi.input``), as raw bytes on a socket, because what is staged
depends on how the body is read off the wire: a body cut mid-file or a malformed part after the
file cannot be sent through Django's test client.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client, override_settings
from pytest_django.live_server_helper import LiveServer

from contributions.models import Contribution, UploadInFlight
from contributions.uploads import staging_dir
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from datadao.sweeper import run_purges
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

MAX_SIZE = 200_000
SCHEMA = {
    "columns": [{"name": "id", "type": "int", "required": True}],
    "max_size": MAX_SIZE,
}
BOUNDARY = "----datadao-staging-test"
# Any 32 alphanumerics are a valid CSRF secret: the cookie and the header must carry the same.
CSRF = "a" * 32
WAIT = 15.0  # seconds; a correct server answers in milliseconds, a loaded host needs slack


@dataclass
class World:
    url: str
    path: str
    member_session: str
    stranger_session: str


@pytest.fixture
def world(live_server: LiveServer) -> Iterator[World]:
    member, stranger = UserFactory(), UserFactory()
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=SCHEMA, visibility=Visibility.PUBLIC)
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    for path in staging_dir().iterdir():
        path.unlink()
    yield World(
        url=live_server.url,
        path=f"/api/datasets/{dataset.pk}/contributions",
        member_session=_session(member),
        stranger_session=_session(stranger),
    )


def _session(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies["sessionid"].value


def _csv(size: int) -> bytes:
    line = b"1\n"
    return b"id\n" + line * ((size - 3) // len(line))


def _file_part(data: bytes, name: str = "file") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="d.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


def _field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    )


END = f"--{BOUNDARY}--\r\n".encode()


def _head(world: World, length: int, *, session: str | None, csrf: str | None) -> bytes:
    host = world.url.removeprefix("http://")
    lines = [
        f"POST {world.path} HTTP/1.1",
        f"Host: {host}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {length}",
        "Connection: close",
    ]
    cookies = [f"csrftoken={CSRF}"]
    if session:
        cookies.append(f"sessionid={session}")
    lines.append("Cookie: " + "; ".join(cookies))
    if csrf is not None:
        lines.append(f"X-CSRFToken: {csrf}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _open(world: World) -> socket.socket:
    host, port = world.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict]:
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"application/json" in head, (status, head, body[:300])
    return status, json.loads(body)


def _post(
    world: World, body: bytes, *, session: str | None, csrf: str | None = CSRF
) -> tuple[int, dict]:
    sock = _open(world)
    sock.sendall(_head(world, len(body), session=session, csrf=csrf))
    # The server may answer early and close: the answer is still there to read.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(body)
    return _answer(sock)


def _staged() -> list[Path]:
    return [p for p in staging_dir().iterdir() if p.is_file()]


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}; staged: {_staged()}"
        time.sleep(0.02)


def _assert_staging_empty() -> None:
    # The answer is sent before the view's cleanup has necessarily returned: allow it a moment.
    # The staged file and the in-flight slot are released one after the other, so wait for both.
    _wait_for(
        lambda: not _staged() and not UploadInFlight.objects.exists(),
        "the staging folder to be empty and the upload slot released",
    )
    assert not Contribution.objects.exists()


def test_anonymous_upload_is_refused_before_the_body_is_read(world: World) -> None:
    status, body = _post(world, _file_part(_csv(100_000)) + END, session=None)
    assert (status, body["error"]) == (401, "unauthenticated")
    assert body["detail"] == "Sign in, or send an API token (Bearer dd_…)."
    _assert_staging_empty()


def test_non_member_upload_is_refused_before_the_body_is_read(world: World) -> None:
    status, body = _post(world, _file_part(_csv(100_000)) + END, session=world.stranger_session)
    assert (status, body["error"]) == (403, "not_a_member")
    assert body["detail"].startswith("Only members of DAO ")
    _assert_staging_empty()


@pytest.mark.parametrize("csrf", [None, "b" * 32], ids=["missing", "wrong"])
def test_upload_without_the_right_csrf_token_is_refused_as_json(
    world: World, csrf: str | None
) -> None:
    status, body = _post(
        world, _file_part(_csv(100_000)) + END, session=world.member_session, csrf=csrf
    )
    assert (status, body["error"]) == (403, "csrf_failed")
    reason = (
        "CSRF token missing."
        if csrf is None
        else "CSRF token from the 'X-Csrftoken' HTTP header incorrect."
    )
    assert body["detail"] == (
        f"CSRF verification failed: {reason} Send the csrftoken cookie's value in the "
        "X-CSRFToken header."
    )
    _assert_staging_empty()


def test_malformed_multipart_after_the_file_part_leaves_nothing(world: World) -> None:
    # A second part whose headers never end: the parser gives up after the file was staged.
    endless = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="signature"\r\n'
    body = _file_part(_csv(100_000)) + endless.encode() + b"X-Pad: " + b"x" * 20_000 + END
    status, answer = _post(world, body, session=world.member_session)
    assert (status, answer["error"]) == (400, "bad_request")
    assert answer["detail"] == (
        "The multipart body could not be parsed: Request max total header size exceeded."
    )
    _assert_staging_empty()


def test_too_many_fields_after_the_file_part_leaves_nothing(world: World) -> None:
    fields = b"".join(_field(f"f{i}", "x") for i in range(1100))
    status, body = _post(
        world, _file_part(_csv(100_000)) + fields + END, session=world.member_session
    )
    assert (status, body["error"]) == (400, "bad_request")
    assert body["detail"] == (
        "The multipart body has too many or too large form fields: send one 'file' and, "
        "optionally, a 'signature'."
    )
    _assert_staging_empty()


def test_a_file_over_the_size_limit_is_cut_off_and_leaves_nothing(world: World) -> None:
    # Within the declared-length allowance, so the body is read and cut off as it passes.
    status, body = _post(
        world, _file_part(_csv(MAX_SIZE + 30_000)) + END, session=world.member_session
    )
    assert (status, body["error"]) == (413, "too_large")
    assert body["detail"] == f"The file is larger than this dataset's limit of {MAX_SIZE} bytes."
    _assert_staging_empty()


def test_a_client_gone_mid_body_leaves_nothing(world: World) -> None:
    body = _file_part(_csv(150_000)) + END
    sock = _open(world)
    sock.sendall(_head(world, len(body), session=world.member_session, csrf=CSRF))
    sock.sendall(body[:100_000])
    # The server is writing the file to staging: the attack has put bytes on disk...
    _wait_for(lambda: any(p.stat().st_size > 0 for p in _staged()), "the upload to be staged")
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    # ...and the request's end removes them.
    _assert_staging_empty()


def test_bytes_in_flight_are_capped_per_user(world: World) -> None:
    first = _file_part(_csv(150_000)) + END
    second = _file_part(_csv(100_000)) + END
    with override_settings(UPLOAD_IN_FLIGHT_BYTES=200_000):
        sock = _open(world)
        sock.sendall(_head(world, len(first), session=world.member_session, csrf=CSRF))
        sock.sendall(first[:100_000])
        _wait_for(lambda: any(p.stat().st_size > 0 for p in _staged()), "the first upload")
        status, body = _post(world, second, session=world.member_session)
        assert (status, body["error"]) == (429, "uploads_in_flight")
        assert body["detail"] == (
            f"You have 1 upload(s) of {len(first)} bytes in progress; at most 200000 bytes may "
            "be in flight at once. Send this file when they have finished."
        )
        assert len(_staged()) == 1  # the refused one staged nothing
        sock.sendall(first[100_000:])
        status, body = _answer(sock)
        assert status == 201, body
    # The staged file and the in-flight slot are released one after the other, so wait for both.
    _wait_for(
        lambda: not _staged() and not UploadInFlight.objects.exists(),
        "the staging folder to be empty and the upload slot released",
    )


def test_the_sweep_removes_orphaned_staging_files_by_age(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_STAGING_MAX_AGE_SECONDS = 3600
    for path in staging_dir().iterdir():
        path.unlink()
    orphan, live = staging_dir() / "upload-orphan", staging_dir() / "upload-live"
    orphan.write_bytes(b"x" * 10)
    live.write_bytes(b"y" * 10)
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    counts = run_purges(now=datetime.now(UTC))
    assert counts["uploads-staging"] == 1
    assert _staged() == [live]
    live.unlink()


def test_the_sweep_task_purges_staging_and_is_idempotent(settings) -> None:  # type: ignore[no-untyped-def]
    from datadao.tasks import sweep

    settings.UPLOAD_STAGING_MAX_AGE_SECONDS = 3600
    for path in staging_dir().iterdir():
        path.unlink()
    orphan = staging_dir() / "upload-left-by-a-killed-worker"
    orphan.write_bytes(b"x")
    long_ago = time.time() - 86_400
    os.utime(orphan, (long_ago, long_ago))
    first = sweep.apply().get()
    second = sweep.apply().get()
    assert (first["uploads-staging"], second["uploads-staging"]) == (1, 0)
    assert _staged() == []
