"""Shared pieces of the pipeline services: paths, the stage guard."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from contributions import lifecycle, sealed
from contributions.decide import VALIDATOR_VERSION  # noqa: F401 (services' public name)
from contributions.models import Contribution
from contributions.validation.rowkey import ROW_DIGEST_BYTES
from datadao.models import Dataset
from datadao.schema import DEFAULT_MAX_SIZE

# Deliveries of one stage before the contribution is dead-lettered as failed.
MAX_STAGE_ATTEMPTS = 5


def upload_root() -> Path:
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def contribution_file(contribution: Contribution) -> Path:
    return upload_root() / contribution.storage_name


def contribution_plaintext(contribution: Contribution) -> AbstractContextManager[Path]:
    """A path to the contribution's plaintext while the ``with`` block runs: the stored file, or
    a private decrypted copy of a sealed one (``contributions.sealed.plaintext``)."""
    return sealed.plaintext(
        contribution_file(contribution),
        contribution.sealed_key,
        dao_id=contribution.dataset.dao.onchain_id if contribution.sealed_key else "",
    )


def contribution_open(contribution: Contribution) -> IO[bytes]:
    """The contribution's plaintext as an open file (a sealed one's in an unlinked temporary
    file). Raises FileNotFoundError when the file is not stored here, ``sealed.Unreadable``
    when a sealed one does not open."""
    path = contribution_file(contribution)
    if not contribution.sealed_key:
        return path.open("rb")
    with path.open("rb") as stream:
        return sealed.unsealed_file(
            stream, contribution.sealed_key, dao_id=contribution.dataset.dao.onchain_id
        )


def rows_sidecar(contribution: Contribution) -> Path:
    """Normalized row digests (16 bytes each) written by validation, read by scoring."""
    return upload_root() / f"{contribution.storage_name}.rows"


def read_row_digests(path: Path) -> list[bytes]:
    """The distinct row digests of a sidecar (``rows_sidecar``), sorted; none when absent."""
    if not path.exists():
        return []
    data = path.read_bytes()
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
    if contribution is None:
        return None
    waits_for = lifecycle.stage_of(contribution)
    if waits_for is None or (stage is not None and waits_for != stage):
        return None
    return contribution
