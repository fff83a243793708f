"""A real HTTP receiver for webhook tests: a threaded http.server on loopback that checks each
delivery's signature with ``webhooks.verify`` (as a DAO's receiver would) and answers as the
test scripts it (a status, after an optional sleep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # None when the signature checked out, else the verifier's refusal.
    refusal: str | None
    at: float
    answered_at: float | None = None

    @property
    def key(self) -> str:
        return self.headers.get(verify.DELIVERY_HEADER.lower(), "")


# (the request, how many earlier requests carried its delivery key) -> (status, seconds to wait)
Script = Callable[[Received, int], tuple[int, float]]


@dataclass
class Receiver:
    port: int = 0
    secret: str = ""
    script: Script = lambda received, seen: (200, 0.0)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/datadao"

    def of_key(self, key: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.key == key]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                verify.verify(body, headers.get(verify.SIGNATURE_HEADER.lower()), receiver.secret)
                refusal = None
            except verify.SignatureError as exc:
                refusal = str(exc)
            received = Received(self.path, headers, body, refusal, time.monotonic())
            with receiver.lock:
                seen = sum(1 for r in receiver.received if r.key == received.key)
                receiver.received.append(received)
            status, wait = receiver.script(received, seen)
            if refusal is not None:
                status = 400
            time.sleep(wait)
            try:
                answer = b"ok" if status < 300 else f"answer {status}".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the platform gave up waiting (its read timeout): nobody reads this
            received.answered_at = time.monotonic()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.block_on_close = False
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
