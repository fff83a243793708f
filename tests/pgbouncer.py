"""A throwaway pgbouncer (Debian's ``pgbouncer`` package; ``bin/services-up`` installs it) in
transaction mode on a loopback port, in front of the local PostgreSQL.

No Django imports: the load benchmark starts one too. Typical use::

    with PgBouncer(upstream_port=5432) as bouncer:
        url = bouncer.url("datadao")  # postgres://postgres@127.0.0.1:<port>/datadao
        bouncer.show("pools")         # the admin console's SHOW POOLS, as dicts
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

BINARY = "/usr/sbin/pgbouncer"
# pgbouncer refuses to run as root; Debian's PostgreSQL package provides this account.
RUN_AS = "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgBouncer:
    """One pgbouncer process; ``close()`` (or the ``with`` block) stops it.

    Every database name is passed through to ``upstream`` (``* =``), so the test databases
    pytest-django makes need no configuration. ``pool_size`` server connections per database
    and user: small in the tests, so that a client's consecutive transactions do land on
    different server connections."""

    def __init__(
        self,
        *,
        upstream_host: str = "127.0.0.1",
        upstream_port: int = 5432,
        user: str = "postgres",
        pool_size: int = 4,
        max_clients: int = 1000,
        startup_timeout: float = 15.0,
    ) -> None:
        self.port = _free_port()
        self.user = user
        self.upstream = (upstream_host, upstream_port)
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.startup_timeout = startup_timeout
        self._tmp = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self._log = self._tmp / "pgbouncer.log"
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def _config(self) -> str:
        host, port = self.upstream
        return "\n".join(
            [
                "[databases]",
                f"* = host={host} port={port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                # Loopback only, and the local PostgreSQL trusts loopback (bin/services-up).
                "auth_type = trust",
                f"auth_file = {self._tmp / 'users.txt'}",
                f"admin_users = {self.user}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                f"max_client_conn = {self.max_clients}",
                # Django's psycopg backend sends none of these, psql and libpq tools may.
                "ignore_startup_parameters = extra_float_digits,options",
                # To stderr, which is the log file: the unprivileged process could not open one.
                "logfile =",
                "",
            ]
        )

    def start(self) -> None:
        if not Path(BINARY).is_file():
            raise RuntimeError(
                f"{BINARY} is missing: install Debian's pgbouncer (bin/services-up does as root)"
            )
        (self._tmp / "users.txt").write_text(f'"{self.user}" ""\n')
        (self._tmp / "pgbouncer.ini").write_text(self._config())
        argv = [BINARY, str(self._tmp / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # The account must read the folder and its files.
            self._tmp.chmod(0o755)
            for path in self._tmp.iterdir():
                path.chmod(0o644)
            argv[1:1] = ["-u", RUN_AS]
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited early:\n{self.log()[-2000:]}")
            try:
                self.show("version")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"pgbouncer did not answer in {self.startup_timeout} s")

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def show(self, what: str) -> list[dict[str, Any]]:
        """``SHOW <what>`` on the admin console (``pools``, ``stats``, ``clients``, ...)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="pgbouncer",
            autocommit=True, prepare_threshold=None, connect_timeout=2,
        ) as conn:  # fmt: skip
            cursor = conn.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def transactions(self, database: str) -> int:
        """Transactions pgbouncer has passed to ``database`` since it started."""
        return sum(
            int(row["total_xact_count"])
            for row in self.show("stats")
            if row["database"] == database
        )

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
