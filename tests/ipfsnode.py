"""A throwaway, fully offline IPFS daemon for tests.

Kubo has no package in the registries the project can reach, so the tests run js-ipfs
(npm ``ipfs@0.66.1``, pinned in ``tests/ipfsnode/package-lock.json``), which serves the same
Kubo-compatible ``/api/v0`` RPC. No Django imports: the helper is usable from any test.

Install once with ``npm ci --prefix tests/ipfsnode``. Typical use::

    with IpfsNode() as node:
        backend = KuboBackend(node.multiaddr)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import requests

NODE_DIR = Path(__file__).resolve().parent / "ipfsnode"
CLI = NODE_DIR / "node_modules" / "ipfs" / "src" / "cli.js"
POLYFILL = NODE_DIR / "polyfill.cjs"

_STDERR_TAIL_CHARS = 4000


def _free_port() -> int:
    # Racy by nature (the port is free now, not necessarily at bind time), but every port is
    # picked once per node and the daemon fails loudly on a clash, so a retry is obvious.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IpfsNode:
    """One js-ipfs daemon with its own temporary repo and loopback ports.

    Ports and repo are chosen once, so ``restart()`` brings back the same node (same pins,
    same ``api_url``). ``close()`` (or leaving the ``with`` block) stops it and deletes the
    repo.
    """

    def __init__(self, *, startup_timeout: float = 60.0, stop_timeout: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.api_port = _free_port()
        self.gateway_port = _free_port()
        self.grpc_port = _free_port()
        self._tmp = Path(tempfile.mkdtemp(prefix="ipfsnode-"))
        self.repo = self._tmp / "repo"
        self._log = self._tmp / "daemon.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._initialised = False
        # A crashed test run must not leave a daemon behind holding ports and the repo lock.
        atexit.register(self._kill)

    # -- addresses ----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the daemon and return once its API answers; ``RuntimeError`` otherwise."""
        if self.running:
            return
        if not CLI.is_file():
            raise RuntimeError(
                f"js-ipfs is not installed ({CLI} missing): run `npm ci --prefix tests/ipfsnode`"
            )
        if shutil.which("node") is None:
            raise RuntimeError("`node` is not on PATH; the test IPFS node needs Node.js >= 20")
        if not self._initialised:
            self._init_repo()
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                ["node", str(CLI), "daemon", "--offline", "--enable-preload=false"],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: stop() signals node and anything it spawned, and a ^C
                # in the terminal does not race our own shutdown.
                start_new_session=True,
            )
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM the daemon, then SIGKILL if it has not exited within ``stop_timeout``."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        self._signal(proc, signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL)
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def wipe(self) -> None:
        """Kill the daemon and delete its repo: the next ``start()`` brings up a new, empty
        node (new identity, no blocks, no pins) on the same ports."""
        self._kill()
        self._proc = None
        shutil.rmtree(self.repo, ignore_errors=True)
        self._initialised = False

    def close(self) -> None:
        """Stop the daemon and delete its repo."""
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
        atexit.unregister(self._kill)

    def __enter__(self) -> IpfsNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stderr_tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-_STDERR_TAIL_CHARS:]
        except OSError:
            return ""

    # -- internals ----------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.repo)
        # A dependency calls Promise.withResolvers (Node >= 22); the polyfill makes Node 20 work.
        env["NODE_OPTIONS"] = f"--require {POLYFILL} {env.get('NODE_OPTIONS', '')}".strip()
        env.pop("DEBUG", None)  # js-ipfs logs everything to stderr when DEBUG is set
        return env

    def _init_repo(self) -> None:
        result = subprocess.run(
            ["node", str(CLI), "init", "--emptyRepo"],
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=self.startup_timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise RuntimeError(
                f"`jsipfs init` failed (exit {result.returncode}):\n{output[-_STDERR_TAIL_CHARS:]}"
            )
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        # Offline and loopback only: no peers, no discovery, no swarm listener, and every
        # server on a port of our own so parallel sessions never clash.
        config["Addresses"].update(
            Swarm=[],
            Announce=[],
            NoAnnounce=[],
            Delegates=[],
            API=f"/ip4/127.0.0.1/tcp/{self.api_port}",
            Gateway=f"/ip4/127.0.0.1/tcp/{self.gateway_port}",
            RPC=f"/ip4/127.0.0.1/tcp/{self.grpc_port}/ws",
        )
        config["Bootstrap"] = []
        config["Discovery"] = {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}}
        config["Routing"] = {"Type": "none"}
        config_path.write_text(json.dumps(config, indent=2))
        self._initialised = True

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise RuntimeError(
                    f"js-ipfs daemon exited with code {code} during startup:\n{self.stderr_tail()}"
                )
            try:
                response = requests.post(f"{self.api_url}/api/v0/id", timeout=2)
                if response.ok:
                    return
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"js-ipfs daemon API at {self.api_url} did not answer within "
            f"{self.startup_timeout:.0f}s (last error: {last_error}):\n{self.stderr_tail()}"
        )

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signal(proc, signal.SIGKILL)
            proc.wait()
