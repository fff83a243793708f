"""Encryption at rest of members-only datasets, wired to the stored files.

A members-only dataset's files are sealed (``datadao.sealing``: AES-256-GCM in 1 MiB chunks
under a fresh data key per file) the moment an upload is kept, so the shared store (DATA_DIR
or the bucket, ``datadao.blobs``) and every IPFS backend only ever hold ciphertext. The data
key is stored wrapped by the key-encryption key (KEK) ring from the environment, bound to the
DAO's ``onchain_id``; the KEKs never enter the database.

Readers of the plaintext go through ``plaintext``: the pipeline's stages, the labeling import,
synthetic jobs, exports and the site's ``/ipfs/<cid>`` for whoever may read it. The plaintext
lives in an unlinked temporary file (``unsealed_file``) or, where a path is needed, in a file
of a private directory on the reader's own disk that is removed when the reader is done; the
sweeper clears what a killed worker left there.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from datadao.errors import Detail
from datadao.keys import load_kek_ring
from datadao.models import Dataset, Visibility
from datadao.sealing import (
    DataKey,
    KekRing,
    SealError,
    WrappedKey,
    decrypt_stream,
    iter_decrypt,
    unwrap,
    wrap,
)
from datadao.sealing import encrypt_stream as _encrypt_stream

# A file left in the private directory longer than this was left by a killed reader.
STALE_AFTER_SECONDS = 3600


class SealingUnavailable(Exception):
    """No key-encryption key is configured: members-only data cannot be stored or read."""


class Unreadable(Exception):
    """A sealed file or its wrapped key does not open: wrong key, another DAO's key, or altered.
    The message names the failure, never a key."""


def must_seal(dataset: Dataset) -> bool:
    """Whether ``dataset``'s files are stored sealed: every dataset that is not public."""
    return dataset.visibility != Visibility.PUBLIC


def ring() -> KekRing:
    try:
        return load_kek_ring()
    except ImproperlyConfigured as exc:
        raise SealingUnavailable(
            Detail(
                "This dataset is members-only, so its files are stored "
                "encrypted, but this platform has no data key-encryption key "
                "configured (%(exc)s)",
                exc=exc,
            )
        ) from None


def seal_file(src: BinaryIO, dst: BinaryIO, *, dao_id: str) -> str:
    """Seal ``src`` into ``dst`` under a fresh data key; returns the wrapped key to store."""
    key = DataKey.generate()
    wrapped = wrap(key, ring(), dao=dao_id).to_text()
    _encrypt_stream(src, dst, key)
    return wrapped


def data_key(sealed_key: str, *, dao_id: str) -> DataKey:
    try:
        return unwrap(WrappedKey.from_text(sealed_key), ring(), dao=dao_id)
    except SealError as exc:
        raise Unreadable(f"the data key does not open: {exc}") from None


def unsealed_file(sealed: BinaryIO, sealed_key: str, *, dao_id: str) -> IO[bytes]:
    """The plaintext of ``sealed`` in an unlinked temporary file, positioned at 0. Every chunk
    is authenticated before this returns: nothing is handed out from a file that does not open
    whole."""
    key = data_key(sealed_key, dao_id=dao_id)
    plain = tempfile.TemporaryFile(dir=private_dir())  # noqa: SIM115 (returned to the caller)
    try:
        decrypt_stream(sealed, plain, key)
    except SealError as exc:
        plain.close()
        raise Unreadable(f"the sealed file does not open: {exc}") from None
    except BaseException:
        plain.close()
        raise
    plain.seek(0)
    return plain


def private_dir() -> Path:
    """Where plaintext is written while a reader needs it: mode 0700, on the data volume."""
    path = Path(settings.DATA_DIR) / "unsealed"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@contextmanager
def plaintext(sealed: BinaryIO, sealed_key: str, *, dao_id: str) -> Iterator[Path]:
    """A path to the plaintext of the sealed stream ``sealed``: a private decrypted copy,
    removed on exit whatever happens."""
    fd, name = tempfile.mkstemp(dir=private_dir(), prefix="plain-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            key = data_key(sealed_key, dao_id=dao_id)
            try:
                decrypt_stream(sealed, out, key)
            except SealError as exc:
                raise Unreadable(f"the sealed file does not open: {exc}") from None
        yield path
    finally:
        path.unlink(missing_ok=True)


def read_head(stream: BinaryIO, sealed_key: str, *, dao_id: str, size: int) -> bytes:
    """The first ``size`` bytes of the plaintext of the stored bytes ``stream``; a sealed file
    opens only the chunks needed (each authenticated)."""
    if not sealed_key:
        return stream.read(size)
    key = data_key(sealed_key, dao_id=dao_id)
    head = bytearray()
    try:
        for plain in iter_decrypt(stream, key):
            head += plain
            if len(head) >= size:
                break
    except SealError as exc:
        raise Unreadable(f"the sealed file does not open: {exc}") from None
    return bytes(head[:size])


def clear_stale(now: float | None = None) -> int:
    """Remove plaintext copies a killed reader left behind; returns how many."""
    cutoff = (now or time.time()) - STALE_AFTER_SECONDS
    removed = 0
    for entry in private_dir().iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
