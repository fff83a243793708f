"""A small IPFS Pinning Service API provider, run as its own process, for the replica tests.

It stands in for a remote provider (Pinata and the like), which cannot be reached from the
test machine. What it really does, and what it does not:

* It implements the spec's pin endpoints: ``POST /pins``, ``GET /pins`` (filters ``cid``,
  ``status``, ``limit``; comma-separated or repeated), ``GET /pins/{requestid}``,
  ``POST /pins/{requestid}`` (replace) and ``DELETE /pins/{requestid}``, with a bearer token,
  ``Failure`` bodies on errors, and the statuses ``queued`` → ``pinning`` → ``pinned`` or
  ``failed``, advanced by a background thread.
* To pin, it fetches the DAG as a CAR from its *upstreams*: Kubo RPC URLs given on the command
  line (``/api/v0/dag/export``), one after another. They stand for the IPFS network a real
  provider would fetch from over libp2p, which the offline test nodes do not speak; the
  ``origins`` a client sends are recorded but not dialled.
* It stores the blocks in its own block store (a directory, written with the project's
  embedded store code, which hash-checks every block of the CAR and pins only a whole DAG),
  and serves them back on a trustless gateway: ``GET /ipfs/{cid}?format=raw`` answers one
  block from its own store, never from an upstream.
* Pin requests live in memory: a restarted server has forgotten them (with ``--store`` wiped
  too, it is a provider that lost everything).

Run: ``python -m tests.psaserver --port 8123 --token T --store DIR --upstream http://...``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ("queued", "pinning", "pinned", "failed")


# --- the server --------------------------------------------------------------------------------


class Provider:
    """Pin requests and the worker that fulfils them."""

    def __init__(self, store_dir: Path, upstreams: list[str], token: str, port: int) -> None:
        from ipfs.backends.embedded import EmbeddedBackend

        self.store = EmbeddedBackend(store_dir)
        self.upstreams = upstreams
        self.token = token
        self.delegates = [f"/ip4/127.0.0.1/tcp/{port}/http"]
        self.requests: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.work: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._worker, daemon=True).start()

    # -- requests --------------------------------------------------------------------------

    def create(self, pin: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            # Microseconds: the spec pages by ``created``, which must be unique.
            created = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            request = {
                "requestid": uuid.uuid4().hex,
                "status": "queued",
                "created": created,
                "pin": pin,
                "delegates": self.delegates,
                "info": {},
            }
            self.requests[request["requestid"]] = request
        self.work.put(request["requestid"])
        return request

    def remove(self, requestid: str) -> bool:
        with self.lock:
            request = self.requests.pop(requestid, None)
            if request is None:
                return False
            cid = request["pin"]["cid"]
            still = any(r["pin"]["cid"] == cid for r in self.requests.values())
        if not still:
            self.store.unpin(cid)
        return True

    def _set(self, requestid: str, status: str, details: str = "") -> None:
        with self.lock:
            request = self.requests.get(requestid)
            if request is not None:
                request["status"] = status
                request["info"] = {"status_details": details} if details else {}

    def _worker(self) -> None:
        while True:
            requestid = self.work.get()
            with self.lock:
                request = self.requests.get(requestid)
            if request is None:
                continue
            self._set(requestid, "pinning")
            cid = request["pin"]["cid"]
            problems = []
            for upstream in self.upstreams:
                try:
                    self._fetch(upstream, cid)
                except Exception as exc:  # any failure: try the next upstream
                    problems.append(f"{upstream}: {exc}")
                    continue
                self._set(requestid, "pinned")
                break
            else:
                self._set(requestid, "failed", "; ".join(problems) or "no upstream")

    def _fetch(self, upstream: str, cid: str) -> None:
        response = requests.post(
            f"{upstream}/api/v0/dag/export",
            params={"arg": cid, "timeout": "5000ms"},
            stream=True,
            timeout=10,
        )
        response.raise_for_status()
        with tempfile.TemporaryFile() as car:
            for chunk in response.iter_content(65536):
                car.write(chunk)
            car.seek(0)
            # Every block hash-checked; the root pinned only if its whole DAG arrived.
            roots = self.store.import_car(car, pin=False)
        if not roots:
            raise RuntimeError("empty CAR")
        self.store.pin(cid)


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write("psaserver: " + format % args + "\n")

        # -- plumbing --------------------------------------------------------------------------

        def _send(self, status: int, body: Any = None, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
            data = b""
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _fail(self, status: int, reason: str, details: str = "") -> None:
            self._send(status, {"error": {"reason": reason, "details": details}})

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {provider.token}":
                return True
            self._fail(401, "UNAUTHORIZED", "Access token is missing or invalid")
            return False

        def _body(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("cid"), str):
                self._fail(400, "BAD_REQUEST", "a Pin object with a cid is required")
                return None
            from ipfs.cid import Cid

            try:
                Cid.parse(body["cid"], codecs=None)
            except ValueError as exc:
                self._fail(400, "BAD_REQUEST", str(exc))
                return None
            return {
                "cid": body["cid"],
                "name": body.get("name") or "",
                "origins": list(body.get("origins") or []),
                "meta": dict(body.get("meta") or {}),
            }

        def _split(self) -> tuple[list[str], dict[str, list[str]]]:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            return parts, parse_qs(url.query)

        # -- routes ----------------------------------------------------------------------------

        def do_GET(self) -> None:
            parts, query = self._split()
            if parts == ["healthz"]:
                return self._send(200, {"ok": True})
            if len(parts) == 2 and parts[0] == "ipfs":
                return self._gateway(parts[1], query)
            if not self._authorized():
                return None
            if parts == ["pins"]:
                return self._list(query)
            if len(parts) == 2 and parts[0] == "pins":
                with provider.lock:
                    request = provider.requests.get(parts[1])
                    body = json.loads(json.dumps(request)) if request else None
                if body is None:
                    return self._fail(404, "NOT_FOUND", "The specified resource was not found")
                return self._send(200, body)
            return self._fail(404, "NOT_FOUND", "no such route")

        def do_POST(self) -> None:
            parts, _ = self._split()
            if not self._authorized():
                return None
            if parts == ["pins"]:
                pin = self._body()
                if pin is not None:
                    self._send(202, provider.create(pin))
                return None
            if len(parts) == 2 and parts[0] == "pins":
                pin = self._body()
                if pin is None:
                    return None
                if parts[1] not in provider.requests:
                    return self._fail(404, "NOT_FOUND", "The specified resource was not found")
                created = provider.create(pin)
                provider.remove(parts[1])
                return self._send(202, created)
            return self._fail(404, "NOT_FOUND", "no such route")

        def do_DELETE(self) -> None:
            parts, _ = self._split()
            if not self._authorized():
                return None
            if len(parts) == 2 and parts[0] == "pins":
                if provider.remove(parts[1]):
                    return self._send(202)
                return self._fail(404, "NOT_FOUND", "The specified resource was not found")
            return self._fail(404, "NOT_FOUND", "no such route")

        def _list(self, query: dict[str, list[str]]) -> None:
            def values(name: str) -> list[str]:
                return [v for raw in query.get(name, []) for v in raw.split(",") if v]

            cids = set(values("cid"))
            statuses = set(values("status")) or {"pinned"}
            if statuses - set(STATUSES):
                return self._fail(400, "BAD_REQUEST", f"unknown status {sorted(statuses)}")
            limit = int((query.get("limit") or ["10"])[0])
            with provider.lock:
                found = [
                    json.loads(json.dumps(r))
                    for r in provider.requests.values()
                    if r["status"] in statuses and (not cids or r["pin"]["cid"] in cids)
                ]
            found.sort(key=lambda r: r["created"], reverse=True)
            return self._send(200, {"count": len(found), "results": found[:limit]})

        def _gateway(self, cid_text: str, query: dict[str, list[str]]) -> None:
            from ipfs.backends.base import IpfsCorrupt, IpfsNotFound
            from ipfs.cid import Cid

            raw = (query.get("format") or [""])[0] == "raw" or (
                "application/vnd.ipld.raw" in (self.headers.get("Accept") or "")
            )
            if not raw:
                return self._fail(400, "BAD_REQUEST", "only ?format=raw blocks are served")
            try:
                cid = Cid.parse(cid_text, codecs=None)
                block = provider.store.get_block(cid)
            except ValueError as exc:
                return self._fail(400, "BAD_REQUEST", str(exc))
            except (IpfsNotFound, IpfsCorrupt):
                # Only its own store: with only-if-cached the spec says 412, else 404 here.
                only_cached = "only-if-cached" in (self.headers.get("Cache-Control") or "")
                return self._send(412 if only_cached else 404, b"", "text/plain")
            return self._send(200, block, "application/vnd.ipld.raw")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--upstream", action="append", default=[])
    args = parser.parse_args()
    provider = Provider(args.store, args.upstream, args.token, args.port)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(provider))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


# --- the process, for tests ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PsaServer:
    """The server above as a child process on a loopback port, with its own store folder."""

    def __init__(self, upstreams: list[str], *, token: str = "test-psa-token") -> None:  # noqa: S107
        self.upstreams = upstreams
        self.token = token
        self.port = _free_port()
        self._tmp = Path(tempfile.mkdtemp(prefix="psaserver-"))
        self.store = self._tmp / "store"
        self._log = self._tmp / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spec(self, name: str = "psa") -> str:
        """Its ``IPFS_REPLICAS`` entry."""
        return f"{name}=psa+{self.url}#gateway={self.url}"

    def start(self) -> None:
        command = [sys.executable, "-m", "tests.psaserver", "--port", str(self.port)]
        command += ["--token", self.token, "--store", str(self.store)]
        for upstream in self.upstreams:
            command += ["--upstream", upstream]
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the pinning service exited:\n{self.log()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the pinning service did not answer:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def wipe(self) -> None:
        """Stop it and delete everything it held: a provider that lost the data."""
        self.stop()
        shutil.rmtree(self.store, ignore_errors=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
        atexit.unregister(self.stop)

    def log(self) -> str:
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def statuses(self, cid: str) -> list[str]:
        """What it says of ``cid``'s requests (for waiting in tests)."""
        response = requests.get(
            f"{self.url}/pins",
            params={"cid": cid, "status": ",".join(STATUSES)},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
        )
        response.raise_for_status()
        return [r["status"] for r in response.json()["results"]]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
