"""A PostgreSQL server of a test's own, which the test may stop and start at will.

The shared server on 127.0.0.1:5432 serves every other test run on the machine, so a database
outage is staged on a private one instead: ``initdb`` into a temporary folder, a free loopback
port, trust authentication, no Unix socket. PostgreSQL refuses to run as root, so when the
tests do, the server runs as the ``postgres`` user (``runuser``) in a folder that user owns.
No Django imports: the helper only manages the server.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

# Debian/Ubuntu install each major version's server programs here, off the PATH.
DEBIAN_SERVER_DIRS = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _major(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def server_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first, then the
    PATH), or None when the server programs are not installed here."""
    candidates = sorted(Path("/").glob(DEBIAN_SERVER_DIRS.lstrip("/")), key=_major, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


class PrivatePostgres:
    """One throwaway cluster. ``stop()`` is a real outage for every client (a fast shutdown:
    sessions are terminated, new connections refused); ``start()`` brings the same cluster
    back on the same port with its data."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="datadao-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # Root may not run the server: hand the folder to the postgres user and run as it.
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root, and runuser is missing: cannot drop to "
                                   f"the {SERVER_USER} user that PostgreSQL requires")  # fmt: skip
            shutil.chown(self.root, user=SERVER_USER, group=None)
            self._as_user = [runuser, "-u", SERVER_USER, "--"]
        # pg_ctl daemonizes the server: a test run killed before its teardown must not leave
        # it running, holding a port and a folder.
        atexit.register(self.close)

    @property
    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*self._as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl {' '.join(args)} failed ({result.returncode}): {result.stderr}\n"
                f"{self.log_tail()}"
            )
        return result

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def init(self) -> None:
        """Create the cluster: trust auth on loopback TCP only, durability traded for speed
        (no fsync: a fast shutdown still writes every committed row, and the outage staged
        here is the server going away, not the machine)."""
        subprocess.run(
            [*self._as_user, str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "fsync = off\n"
                "full_page_writes = off\n"
                "max_connections = 40\n"
            )

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        """Shut down: ``fast`` terminates every session and refuses new ones at once."""
        self._pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def wait_accepting(self, timeout: float = 30) -> None:
        """Until the server takes connections (``pg_ctl start -w`` may return a moment
        before recovery lets clients in)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def close(self) -> None:
        """Stop the server if it runs (immediately: nothing in it is worth keeping) and
        delete the cluster."""
        if self.data.exists() and self.running:
            self._pg_ctl("stop", "-w", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.close)
