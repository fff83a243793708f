"""Pinning for the apps above contributions, sealed when the dataset is members-only.

A release's settled labels and a synthetic job's rows, model and images are made from a
dataset's data: for a members-only dataset they are sealed like its files (a fresh data key,
wrapped by the KEK ring, bound to the DAO), and the IPFS backend receives ciphertext only. The
CID and the wrapped key are kept in ``SealedPin``; ``/ipfs/<cid>`` opens them for whoever may
read the dataset (``selectors.unseal_sealed_pin``).
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import BinaryIO

from contributions import sealed
from contributions.models import SealedPin
from datadao.models import Dataset
from ipfs.models import Pin
from ipfs.services import content_add

SPOOL_MAX_MEMORY = 8 * 1024 * 1024


def content_add_for(*, dataset: Dataset, stream: BinaryIO, label: str, content_type: str) -> Pin:
    """Pin ``stream`` for ``dataset``: as it is for a public dataset, sealed otherwise. Raises
    ``sealed.SealingUnavailable`` for a members-only dataset when no KEK is configured, and
    what ``content_add`` raises."""
    replication = dataset.dao.replication_factor
    if not sealed.must_seal(dataset):
        return content_add(
            stream=stream, label=label, content_type=content_type, replication=replication
        )
    digest = _sha256(stream)
    known = SealedPin.objects.filter(dataset=dataset, plain_sha256=digest).first()
    if known is not None:
        pin = Pin.objects.filter(cid=known.cid).first()
        if pin is not None:
            return pin
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY) as spool:
        sealed_key = sealed.seal_file(stream, spool, dao_id=dataset.dao.onchain_id)
        spool.seek(0)
        pin = content_add(
            stream=spool, label=label, content_type=content_type, replication=replication
        )
    SealedPin.objects.get_or_create(
        cid=pin.cid,
        defaults={"sealed_key": sealed_key, "dataset": dataset, "plain_sha256": digest},
    )
    return pin


def _sha256(stream: BinaryIO) -> str:
    """The SHA-256 of the rest of a seekable ``stream``, which is left where it was."""
    start = stream.tell()
    digest = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(start)
    return digest.hexdigest()
