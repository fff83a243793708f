"""Uploading a file: signed, streamed, retried without ever making a second copy.

The body is streamed from the disk (constant memory, an explicit Content-Length: the platform
refuses chunked bodies). Retrying is safe because a dataset holds each exact file once: the
platform refuses a second upload of the same bytes (409 ``duplicate``, by SHA-256). So when a
retry meets that refusal, the earlier attempt did arrive (only its answer was lost), and the
contribution is looked up among the contributor's own by the file's SHA-256 instead of being
uploaded again.

The SHA-256, not the CID, is the key: the platform computes a contribution's CID only when
it pins it, after validation, while the SHA-256 is checked at upload.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from datadao_client.errors import ApiError

CHUNK = 1024 * 1024

#: Called with (bytes of the file sent, file size) after each chunk of each attempt.
Progress = Callable[[int, int], None]


def ownership_message(site: str, dataset_id: int, sha256_hex: str) -> str:
    """The EIP-191 text a contributor signs to prove they own an upload to dataset
    ``dataset_id`` of the platform at ``site`` (its host[:port], as sign-in messages name it).

    The platform checks the same text (``contributions.attestation.ownership_message``; a test
    holds the two equal).
    """
    return f"datadao-contribution:{site}:{dataset_id}:{sha256_hex}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Multipart:
    """A streamed multipart body: the small fields in memory, the file read chunk by chunk.
    Iterable more than once, so each retry sends the whole body again."""

    path: Path
    fields: dict[str, str]
    boundary: str
    progress: Progress | None = None

    @classmethod
    def of(cls, path: Path, fields: dict[str, str], progress: Progress | None) -> Multipart:
        return cls(path=path, fields=fields, boundary=secrets.token_hex(16), progress=progress)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self) -> bytes:
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in self.fields.items()
        ]
        safe_name = self.path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{safe_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        return "".join(parts).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head()) + self.path.stat().st_size + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        yield self._head()
        size, sent = self.path.stat().st_size, 0
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
                sent += len(chunk)
                if self.progress is not None:
                    self.progress(sent, size)
        yield self._tail()


def is_duplicate(error: ApiError) -> bool:
    return error.status == 409 and error.code == "duplicate"
