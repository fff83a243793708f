"""A real HTTP proxy in front of the live server that injects network faults on cue.

Not a mock: every request it lets through is answered by the running platform. It exists
because a lost answer, a 503 from an overloaded front and a corrupted download cannot be
made on demand by the platform itself. ``plan`` holds one fault per request to come (in
order, for requests whose path contains ``match``); the rest pass through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Plan:
    match: str = ""
    #: "drop": forward, then close without answering; "503": answer 503 Retry-After: 1
    #: without forwarding; "corrupt": forward and flip a byte near the end of the answer.
    faults: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)


@contextmanager
def fault_proxy(upstream: str, plan: Plan) -> Iterator[str]:
    """Run the proxy; yields its URL."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = ""
            with lock:
                if plan.match in self.path and plan.faults:
                    fault = plan.faults.pop(0)
                plan.seen.append(f"{self.command} {self.path} {fault or 'pass'}")
            if fault == "503":
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                payload = b'{"error": "busy", "detail": "try again"}'
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
            answer = requests.request(
                self.command,
                upstream + self.path,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=120,
            )
            if fault == "drop":
                # The platform has done the work; its answer never reaches the client.
                self.close_connection = True
                return
            content = answer.content
            if fault == "corrupt" and content:
                at = len(content) - 1 - min(40, len(content) - 1)
                content = content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1 :]
            self.send_response(answer.status_code)
            for name, value in answer.raw.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
