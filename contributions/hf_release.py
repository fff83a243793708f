"""A release that loads anywhere: beside its manifest, a public tabular release pins its
merged rows as a Parquet shard named as Hugging Face ``datasets`` expects, a dataset card
(``README.md``) and a Croissant file; every other public release pins the card and the
Croissant file. Registered as the ``huggingface`` release extra (``contributions.extras``).

Members-only datasets get none of them: a shard would be a copy of sealed data outside its
encryption and grants. A withdrawal unpins the shards of every release that holds the
withdrawn rows (the ``huggingface`` derivation), as it unpins the withdrawn file itself.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from typing import Any

from contributions import hfcard, sealed
from contributions.export import provenance_names, write_parquet
from contributions.models import Contribution, Release, Status
from contributions.selectors import tabular_source
from datadao.dispatch import send_on_commit
from datadao.models import Dataset, DatasetKind
from ipfs.services import content_add

PARQUET_TYPE = "application/vnd.apache.parquet"

logger = logging.getLogger(__name__)


def _entry(path: str, data: bytes, *, label: str, content_type: str, replication: int) -> dict:  # type: ignore[type-arg]
    pin = content_add(
        stream=io.BytesIO(data),
        label=f"{label}:{path}",
        content_type=content_type,
        replication=replication,
    )
    return {
        "path": path,
        "cid": pin.cid,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _described(dataset: Dataset) -> dict[str, Any]:
    return {
        "dao": dataset.dao.slug,
        "dao_id": dataset.dao.onchain_id,
        "chain_id": dataset.dao.chain_id,
        "slug": dataset.slug,
        "name": dataset.name,
        "kind": dataset.kind,
        "license": dataset.license,
        "schema": dataset.schema,
    }


def _shard(dataset: Dataset) -> tuple[bytes, int] | None:
    """The merged rows of the dataset's pinned contributions as Parquet, and their count."""
    pinned = (
        Contribution.objects.filter(dataset=dataset, status=Status.PINNED, withdrawn_at=None)
        .select_related("contributor")
        .order_by("pk")
    )
    sources = [tabular_source(c, dao_id=dataset.dao.onchain_id) for c in pinned]
    if not sources:
        return None
    missing = [source.contribution for source in sources if not source.path.exists()]
    if missing:
        # The release still publishes (its manifest and the files' CIDs are whole); only the
        # merged shard is left out, as the merged download refuses then too.
        logger.warning(
            "release of %s pins no Parquet shard: the stored files of contributions %s are missing",
            dataset,
            missing[:10],
        )
        return None
    with tempfile.TemporaryFile(dir=sealed.private_dir()) as out:
        try:
            stats = write_parquet(sources, dataset.schema["columns"], out)
        except ValueError as exc:  # a stored file that is not a table after all
            logger.warning("release of %s pins no Parquet shard: %s", dataset, exc)
            return None
        out.seek(0)
        return out.read(), stats.rows


def release_entries(dataset_id: int, label: str) -> list[dict[str, Any]]:
    """The files the next release of ``dataset_id`` pins for Hugging Face and Croissant."""
    dataset = Dataset.objects.select_related("dao").get(pk=dataset_id)
    if sealed.must_seal(dataset):
        return []
    replication = dataset.dao.replication_factor
    described = _described(dataset)
    entries = []
    shard, rows, columns = None, 0, []
    if dataset.kind == DatasetKind.TABULAR:
        schema_columns = list(dataset.schema.get("columns", []))
        contribution, contributor = provenance_names(schema_columns)
        schema_columns += [
            {"name": contribution, "type": "int"},
            {"name": contributor, "type": "string"},
        ]
        columns = hfcard.fields(schema_columns)
        made = _shard(dataset)
        if made is not None:
            shard, rows = made
            entries.append(
                _entry(
                    hfcard.DATA_PATH,
                    shard,
                    label=label,
                    content_type=PARQUET_TYPE,
                    replication=replication,
                )
            )
    files = [hfcard.DATA_PATH] if shard is not None else []
    card = hfcard.card(described, rows=rows, columns=columns, files=files)
    entries.append(
        _entry(
            hfcard.CARD_PATH,
            card.encode(),
            label=label,
            content_type="text/markdown",
            replication=replication,
        )
    )
    doc = hfcard.croissant(
        described,
        columns=columns,
        shard_sha256=entries[0]["sha256"] if shard is not None else None,
    )
    entries.append(
        _entry(
            hfcard.CROISSANT_PATH,
            hfcard.croissant_bytes(doc),
            label=label,
            content_type="application/ld+json",
            replication=replication,
        )
    )
    return entries


def entry_cids(entry: dict[str, Any]) -> list[str]:
    return [entry["cid"]]


def shards_listing(dataset_id: int, contribution_ids: list[int]) -> list[dict[str, Any]]:
    """The releases' data shards that hold rows of the withdrawn contributions."""
    wanted = set(contribution_ids)
    found = []
    for release in Release.objects.filter(dataset_id=dataset_id).order_by("version"):
        shards = [
            e for e in release.manifest.get("huggingface") or [] if e["path"].endswith(".parquet")
        ]
        listed = {e["id"] for e in release.manifest.get("contributions", [])} & wanted
        if shards and listed:
            found += [{"release": release.version, "cid": s["cid"], "path": s["path"]}
                      for s in shards]  # fmt: skip
    return found


def shards_exclude(contribution_ids: list[int]) -> int:
    """Unpin (after the withdrawal commits) every release shard holding the withdrawn rows."""
    dataset_ids = set(
        Contribution.objects.filter(pk__in=contribution_ids).values_list("dataset_id", flat=True)
    )
    cids = {
        shard["cid"]
        for dataset_id in dataset_ids
        for shard in shards_listing(dataset_id, contribution_ids)
    }
    for cid in sorted(cids):
        send_on_commit("contributions.tasks.unpin_release_shard", cid)
    return len(cids)
