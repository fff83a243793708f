"""Shared pieces of the pipeline services: the stored files, the stage guard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

from django.db import transaction

from contributions import lifecycle, sealed
from contributions.decide import VALIDATOR_VERSION  # noqa: F401 (services' public name)
from contributions.models import Contribution
from contributions.validation.rowkey import ROW_DIGEST_BYTES
from datadao import blobs
from datadao.models import Dataset, DatasetKind
from datadao.schema import DEFAULT_MAX_SIZE

# Deliveries of one stage before the contribution is dead-lettered as failed.
MAX_STAGE_ATTEMPTS = 5


def upload_key(contribution: Contribution) -> str:
    """The contribution's stored bytes in the shared store (``datadao.blobs``): a sealed
    file's ciphertext, what IPFS holds."""
    return upload_key_for(contribution.storage_name)


def upload_key_for(storage_name: str) -> str:
    return f"uploads/{storage_name}"


def rows_key(contribution: Contribution) -> str:
    """Normalized row digests (16 bytes each) written by validation, read by scoring and on
    review."""
    return f"{upload_key(contribution)}.rows"


def contribution_stored(contribution: Contribution) -> AbstractContextManager[Path]:
    """A local path to the stored bytes while the ``with`` block runs, to read only. Raises
    ``blobs.BlobMissing`` (a FileNotFoundError) when they are not stored."""
    return blobs.store().local_copy(upload_key(contribution))


def contribution_stored_open(contribution: Contribution) -> IO[bytes]:
    """The stored bytes as an open file. Raises ``blobs.BlobMissing``."""
    return blobs.store().open(upload_key(contribution))


@contextmanager
def contribution_plaintext(contribution: Contribution) -> Iterator[Path]:
    """A path to the contribution's plaintext while the ``with`` block runs: the stored bytes,
    or a private decrypted copy of a sealed one (``contributions.sealed.plaintext``)."""
    if not contribution.sealed_key:
        with contribution_stored(contribution) as path:
            yield path
        return
    dao_id = contribution.dataset.dao.onchain_id
    with (
        contribution_stored_open(contribution) as stream,
        sealed.plaintext(stream, contribution.sealed_key, dao_id=dao_id) as path,
    ):
        yield path


def contribution_open(contribution: Contribution) -> IO[bytes]:
    """The contribution's plaintext as an open file (a sealed one's in an unlinked temporary
    file). Raises FileNotFoundError (``blobs.BlobMissing``) when the file is not stored,
    ``sealed.Unreadable`` when a sealed one does not open."""
    stream = contribution_stored_open(contribution)
    if not contribution.sealed_key:
        return stream
    with stream:
        return sealed.unsealed_file(
            stream, contribution.sealed_key, dao_id=contribution.dataset.dao.onchain_id
        )


@contextmanager
def rows_sidecar_writing(contribution: Contribution) -> Iterator[Path | None]:
    """Where validation writes a tabular contribution's row digests (None for other kinds);
    stored (``rows_key``) when the block ends cleanly, if validation left the file."""
    if contribution.dataset.kind != DatasetKind.TABULAR:
        yield None
        return
    with blobs.store().writing(rows_key(contribution)) as path:
        yield path


def contribution_row_digests(contribution: Contribution) -> list[bytes]:
    """The distinct row digests validation recorded for the contribution, sorted; none when
    there are none stored."""
    try:
        data = blobs.store().read_bytes(rows_key(contribution))
    except blobs.BlobMissing:
        return []
    return row_digests(data)


def read_row_digests(path: Path) -> list[bytes]:
    """The distinct row digests of a local sidecar file, sorted; none when absent."""
    if not path.exists():
        return []
    return row_digests(path.read_bytes())


def row_digests(data: bytes) -> list[bytes]:
    size = ROW_DIGEST_BYTES
    return sorted({data[i : i + size] for i in range(0, len(data), size)})


def dataset_max_size(dataset: Dataset) -> int:
    return int(dataset.schema.get("max_size", DEFAULT_MAX_SIZE))


# --- stage bookkeeping ----------------------------------------------------------------------------


def cid_mismatch(*, returned: str, computed: str) -> str:
    """The failure of a pin whose backend CID is not the one computed locally and signed."""
    return f"the IPFS backend returned CID {returned}, but the bytes hash to {computed}"


def lock_at(contribution_id: int, stage: str | None) -> Contribution | None:
    """The row, locked, if it still waits for ``stage`` (None: for any stage); else None (gone,
    already past, or final).

    Worker-side stage transactions commit without waiting for the WAL flush: if the database
    crashed and lost the last of them, the contribution would simply be back at an earlier
    stage, which the sweeper re-dispatches and the idempotent, deterministic stages redo with
    the same result. (Receiving an upload keeps full durability: the client was told 201.)
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    # Only the contribution's row: a bare FOR UPDATE over the join would lock its dataset and
    # DAO rows too, which every upload to the dataset needs (the FK's KEY SHARE) while it
    # holds its contributor's row, the row a stage's reward credit needs: a deadlock.
    contribution = (
        Contribution.objects.select_for_update(of=("self",))
        .select_related("dataset__dao", "contributor")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None or contribution.withdrawn_at is not None:
        return None
    waits_for = lifecycle.stage_of(contribution)
    if waits_for is None or (stage is not None and waits_for != stage):
        return None
    return contribution
