"""A real S3-compatible server for tests: moto in server mode, a process of its own.

Nothing is patched in the test process: boto3 (through django-storages) speaks HTTP to the
server as it would to AWS or MinIO, and worker processes the tests start reach the same
server. A server that cannot start fails the tests that asked for it, loudly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

__all__ = ["S3Bucket", "S3Server", "s3_bucket", "s3_server"]

REGION = "us-east-1"
# What the server is told is the platform's key pair (moto takes any). The secret is unique per
# session, so a test can look for it in logs and error messages.
ACCESS_KEY = "datadao-test-access"
SECRET_KEY = f"datadao-test-secret-{uuid.uuid4().hex}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.endpoint_url}/moto-api/", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@dataclass
class S3Bucket:
    """A fresh bucket on the server, and the environment that points a process at it."""

    server: S3Server
    name: str

    def env(self) -> dict[str, str]:
        return {
            "UPLOAD_STORAGE": "s3",
            "UPLOAD_S3_BUCKET": self.name,
            "UPLOAD_S3_ENDPOINT_URL": self.server.endpoint_url,
            "UPLOAD_S3_REGION": REGION,
            "UPLOAD_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "UPLOAD_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def keys(self, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``, asked of the server directly."""
        pages = self.server.client().get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in pages.paginate(Bucket=self.name, Prefix=prefix)
            for item in page.get("Contents", [])
        )

    def get(self, key: str) -> bytes:
        return self.server.client().get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto server for the session; tests each take a bucket of their own (``s3_bucket``)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("s3") / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = S3Server(endpoint_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while not server.answers():
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"the moto S3 server did not start:\n{tail}", pytrace=False)
        time.sleep(0.2)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server, settings: Any, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket, and this process (web, in the tests) storing into it."""
    bucket = S3Bucket(server=s3_server, name=f"datadao-{uuid.uuid4().hex[:12]}")
    s3_server.client().create_bucket(Bucket=bucket.name)
    for name, value in bucket.env().items():
        if name.endswith(("ACCESS_KEY_ID", "SECRET_ACCESS_KEY")):
            monkeypatch.setenv(name, value)  # read at first use, as in production
        else:
            setattr(settings, name, value)
    return bucket
