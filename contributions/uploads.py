"""Streaming upload handling: bytes go to disk in chunks while their SHA-256 is computed.

The web process never holds an upload in memory, and an upload over the dataset's limit is
cut off as soon as it passes it, not after it has been stored.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from contributions.errors import BadUpload, ContributionRefused, TooLarge
from datadao.errors import Detail


@dataclass
class StagedUpload:
    """A file received into the staging folder, hashed on the way in."""

    path: Path
    sha256: str
    size: int
    client_name: str
    client_content_type: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class _Current:
    path: Path
    handle: Any
    digest: Any = field(default_factory=hashlib.sha256)
    size: int = 0


def staging_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads-staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


class HashingUploadHandler(FileUploadHandler):
    """Writes each file to the staging folder, hashing it, and stops past ``max_size``.

    A refusal is kept in ``self.refusal`` for the view to turn into a 4xx; every staged file
    of an interrupted request is deleted.
    """

    def __init__(self, request: Any, *, max_size: int, max_files: int = 1) -> None:
        super().__init__(request)
        self.max_size = max_size
        self.max_files = max_files
        self.files: list[StagedUpload] = []
        self.refusal: ContributionRefused | None = None
        self._current: _Current | None = None
        self._count = 0
        # A file was started but the body ended before its closing boundary (a truncated
        # upload): Django drops such a part silently, so the view must say what happened.
        self.unfinished = False

    def _stop(self, refusal: ContributionRefused) -> None:
        self.refusal = refusal
        self.cleanup()
        raise StopUpload(connection_reset=False)

    def new_file(
        self, field_name: str, file_name: str, content_type: str, *args: Any, **kwargs: Any
    ) -> None:
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        self._count += 1
        if self._count > self.max_files:
            self._stop(
                BadUpload(
                    Detail(
                        "Send at most %(max_files)s file(s) per request.", max_files=self.max_files
                    )
                )
            )
        fd, name = tempfile.mkstemp(prefix="upload-", dir=staging_dir())
        self._current = _Current(path=Path(name), handle=os.fdopen(fd, "wb"))

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        current = self._current
        assert current is not None
        current.size += len(raw_data)
        if current.size > self.max_size:
            self._stop(
                TooLarge(
                    Detail(
                        "The file is larger than this dataset's limit of %(max_size)s bytes.",
                        max_size=self.max_size,
                    )
                )
            )
        current.digest.update(raw_data)
        current.handle.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StagedUpload | None:
        current = self._current
        if current is None:
            return None
        current.handle.close()
        staged = StagedUpload(
            path=current.path,
            sha256=current.digest.hexdigest(),
            size=current.size,
            client_name=self.file_name or "",
            client_content_type=self.content_type or "",
        )
        self.files.append(staged)
        self._current = None
        # Django expects an UploadedFile; the view reads ``self.files`` instead.
        return _Placeholder(staged)  # type: ignore[return-value]

    def upload_interrupted(self) -> None:
        self.unfinished = True
        self.cleanup()

    def cleanup(self) -> None:
        if self._current is not None:
            self._current.handle.close()
            self._current.path.unlink(missing_ok=True)
            self._current = None
        for staged in self.files:
            staged.discard()
        self.files.clear()


class _Placeholder:
    """Stands in request.FILES for a staged upload (never read: the view uses the handler)."""

    def __init__(self, staged: StagedUpload) -> None:
        self.staged = staged
        self.name = staged.client_name
        self.size = staged.size

    def close(self) -> None:
        return None
