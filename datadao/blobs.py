"""Where the files that web and the workers share are kept: folders under DATA_DIR, or a bucket.

Web receives an upload and the validate and pin workers read it; validation writes the
upload's row-digest sidecar and scoring (another delivery, perhaps another host) and the
DAO's review (web) read it; a label import is written by web or the pin worker and read by the
default worker; a synthetic job's input CSV and the rows it wrote belong with the job, not with
the synthetic worker's disk. ``UPLOAD_STORAGE`` says where these live:

- ``local`` (the default): files under ``DATA_DIR`` (``DATA_DIR/uploads/<name>``, ...). Every
  host running web or workers must then see the same ``DATA_DIR``: one host, or a shared
  filesystem.
- ``s3``: objects in an S3-compatible bucket (django-storages' ``S3Storage`` over boto3),
  under the same keys. Hosts share no disk; each keeps only its own scratch files.

An object is written whole: readers see all of it or nothing (a local file is written aside
and renamed into place; an S3 PUT is atomic). A reader that needs a path (validation, image
decoding, DuckDB) gets one for the length of a ``with`` block (``local_copy``): the stored
file itself with the local folder (to be read, never written), a private download deleted on
exit with a bucket.

What only one process ever touches (an upload being received, decrypted plaintext) stays on
that process's disk and never comes here.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Variables the bucket's credentials are read from, when the store is first used; never kept
# in settings. Unset, boto3 looks in its own places (AWS_* variables, an instance or pod role).
CREDENTIAL_VARIABLES = ("UPLOAD_S3_ACCESS_KEY_ID", "UPLOAD_S3_SECRET_ACCESS_KEY")
# An object read as a stream is held in memory up to this size, then spills to a temporary file.
SPOOL_BYTES = 2 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 60
# A local copy older than this was left by a killed process (``clear_stale_copies``).
STALE_AFTER_SECONDS = 3600
# Relative, "/"-separated, no "." or ".." segment, no leading dot (the folder's own partial
# files start with one): what every caller builds from a uuid or an id.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


class BlobMissing(FileNotFoundError):
    """No object is stored under the key: never written, or deleted since."""


class StoreUnavailable(Exception):
    """The bucket did not answer as it should: unreachable, the credentials refused, a server
    error. The message names the bucket and the failure, never a credential."""


class Store(Protocol):
    """What callers use; ``LocalStore`` and ``S3Store`` implement it."""

    kind: str

    def move_in(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` and remove ``source``."""

    def save_bytes(self, key: str, data: bytes) -> None: ...

    def writing(self, key: str) -> Any:
        """A context manager: a fresh local path to write, stored under ``key`` when the block
        ends cleanly and a file is there (nothing stored otherwise); gone afterwards."""

    def open(self, key: str) -> IO[bytes]:
        """The object's bytes as a seekable binary file, positioned at 0; the caller closes
        it. Raises ``BlobMissing``."""

    def local_copy(self, key: str) -> Any:
        """A context manager: a local path holding the object's bytes, to read only. Raises
        ``BlobMissing``."""

    def read_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; one that is not there is not an error."""

    def delete_many(self, keys: Iterable[str]) -> None: ...


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def _private(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class LocalStore:
    """Files under ``root`` (``DATA_DIR``): the key is the path below it."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where ``key`` lives on this disk (the local folder only)."""
        return self.root / check_key(key)

    def _target(self, key: str) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def move_in(self, key: str, source: Path) -> None:
        target = self._target(key)
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another filesystem: copy aside, then rename, so no reader sees half a file.
            with self.writing(key) as partial:
                shutil.copyfile(source, partial)
            Path(source).unlink(missing_ok=True)

    def save_bytes(self, key: str, data: bytes) -> None:
        with self.writing(key) as partial:
            partial.write_bytes(data)

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        target = self._target(key)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        try:
            yield partial
            if partial.exists():
                os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"{key} is not stored under {self.root}") from None

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise BlobMissing(f"{key} is not stored under {self.root}")
        yield path

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)


class S3Store:
    """Objects in one bucket of an S3-compatible service, through django-storages."""

    kind = "s3"
    # One DeleteObjects request names at most this many keys.
    DELETE_BATCH = 1000

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "",
        access_key: str | None = None,
        secret_key: str | None = None,
        scratch: Path,
    ) -> None:
        from botocore.config import Config
        from storages.backends.s3 import S3Storage

        self.bucket_name = bucket
        self.endpoint_url = endpoint_url
        self.scratch = scratch
        self.storage = S3Storage(
            bucket_name=bucket,
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            access_key=access_key,
            secret_key=secret_key,
            # The key is the name: never a renamed copy beside an existing object.
            file_overwrite=True,
            default_acl=None,
            location="",
            max_memory_size=SPOOL_BYTES,
            client_config=Config(
                # Another S3-compatible service (MinIO, Ceph, moto) is addressed by path: its
                # host name carries no bucket subdomains.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                # A bucket that does not answer fails a request in seconds, not minutes: an
                # upload gets its 503, a stage its redelivery.
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )

    def __repr__(self) -> str:  # never the credentials
        return f"S3Store(bucket={self.bucket_name!r}, endpoint={self.endpoint_url or 'AWS'!r})"

    @contextmanager
    def _answering(self, key: str) -> Iterator[None]:
        """botocore's failures as ``BlobMissing`` (no such object) or ``StoreUnavailable``."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"the bucket {self.bucket_name!r}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        try:
            yield
        except FileNotFoundError:
            raise BlobMissing(f"{key} is not in {where}") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            # A missing bucket is a misconfiguration, not a missing object (a HEAD cannot tell
            # them apart: both are a bare 404).
            missing = status == 404 or error.get("Code") in ("404", "NoSuchKey")
            if missing and error.get("Code") != "NoSuchBucket":
                raise BlobMissing(f"{key} is not in {where}") from None
            raise StoreUnavailable(
                f"{where} refused {key}: {error.get('Code', status)} {error.get('Message', '')}"
            ) from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"{where} did not answer for {key}: {exc}") from None

    def _copies(self) -> Path:
        return _private(self.scratch)

    def move_in(self, key: str, source: Path) -> None:
        from django.core.files import File

        check_key(key)
        with Path(source).open("rb") as stream, self._answering(key):
            self.storage.save(key, File(stream, name=key))
        Path(source).unlink(missing_ok=True)

    def save_bytes(self, key: str, data: bytes) -> None:
        from django.core.files.base import ContentFile

        with self._answering(check_key(key)):
            self.storage.save(key, ContentFile(data, name=key))

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        check_key(key)
        partial = self._copies() / f"write-{uuid.uuid4().hex}"
        try:
            yield partial
            if partial.exists():
                self.move_in(key, partial)
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key: str) -> IO[bytes]:
        with self._answering(check_key(key)):
            stored = self.storage.open(key, "rb")
            # The S3File's body: downloaded into a spooled temporary file (memory, then disk).
            body = stored.file
        body.seek(0)
        return body

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        check_key(key)
        fd, name = tempfile.mkstemp(dir=self._copies(), prefix="copy-")
        os.close(fd)
        path = Path(name)
        try:
            with self._answering(key):
                self.storage.bucket.download_file(key, name, Config=self.storage.transfer_config)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def exists(self, key: str) -> bool:
        with self._answering(check_key(key)):
            return bool(self.storage.exists(key))

    def delete(self, key: str) -> None:
        with self._answering(check_key(key)):
            self.storage.delete(key)

    def delete_many(self, keys: Iterable[str]) -> None:
        names = [check_key(key) for key in keys]
        for start in range(0, len(names), self.DELETE_BATCH):
            batch = names[start : start + self.DELETE_BATCH]
            with self._answering(batch[0]):
                answer = self.storage.bucket.delete_objects(
                    Delete={"Objects": [{"Key": name} for name in batch], "Quiet": True}
                )
            failed = answer.get("Errors", [])
            if failed:
                first = failed[0]
                raise StoreUnavailable(
                    f"the bucket {self.bucket_name!r} kept {len(failed)} object(s) asked to be "
                    f"deleted, {first.get('Key')} first: {first.get('Code')} {first.get('Message')}"
                )


@dataclass(frozen=True)
class Blob:
    """One stored object as a path-like handle (``name``, ``open("rb")``, ``exists()``), for
    code that takes either a local file or a stored one."""

    key: str

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def open(self, mode: str = "rb") -> IO[bytes]:
        if mode != "rb":
            raise ValueError(f"a stored object opens for reading in binary only, not {mode!r}")
        return store().open(self.key)

    def exists(self) -> bool:
        return store().exists(self.key)


_cached: tuple[tuple[Any, ...], Store] | None = None


def _config() -> tuple[Any, ...]:
    kind = settings.UPLOAD_STORAGE
    if kind == "local":
        return (kind, str(settings.DATA_DIR))
    credentials = tuple(os.environ.get(name) or None for name in CREDENTIAL_VARIABLES)
    return (
        kind,
        str(settings.DATA_DIR),
        settings.UPLOAD_S3_BUCKET,
        settings.UPLOAD_S3_ENDPOINT_URL,
        settings.UPLOAD_S3_REGION,
        *credentials,
    )


def store() -> Store:
    """The store this process is configured for (``UPLOAD_STORAGE``), built once per setting."""
    global _cached
    config = _config()
    if _cached is not None and _cached[0] == config:
        return _cached[1]
    built: Store
    if config[0] == "local":
        built = LocalStore(Path(settings.DATA_DIR))
    elif config[0] == "s3":
        if not settings.UPLOAD_S3_BUCKET:
            raise ImproperlyConfigured("UPLOAD_STORAGE=s3 needs UPLOAD_S3_BUCKET.")
        access_key, secret_key = config[-2:]
        built = S3Store(
            bucket=settings.UPLOAD_S3_BUCKET,
            endpoint_url=settings.UPLOAD_S3_ENDPOINT_URL,
            region=settings.UPLOAD_S3_REGION,
            access_key=access_key,
            secret_key=secret_key,
            scratch=Path(settings.DATA_DIR) / "blob-copies",
        )
    else:
        raise ImproperlyConfigured(f"UPLOAD_STORAGE is local or s3, not {config[0]!r}.")
    _cached = (config, built)
    return built


def clear_stale_copies(now: float | None = None) -> int:
    """Remove local copies and half-written uploads a killed process left; returns how many."""
    folder = Path(settings.DATA_DIR) / "blob-copies"
    if not folder.is_dir():
        return 0
    cutoff = (now or time.time()) - STALE_AFTER_SECONDS
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
