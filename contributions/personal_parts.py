"""Contributions' part of a personal export (``datadao.personal``): every contribution with its
scores and signed proof, the files as sent (a sealed one decrypted into the stream), consent
withdrawals and aggregate queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from contributions import sealed
from contributions.models import ConsentWithdrawal, Contribution, ReleaseQuery
from contributions.services import contribution_open
from datadao.blobs import StoreUnavailable
from datadao.personal import json_file

CHUNK = 1024 * 1024


def _file_name(contribution: Contribution) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in contribution.original_name)
    return f"files/{contribution.pk}-{safe or 'file'}"


def _chunks(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    mine = (
        Contribution.objects.filter(contributor=user)
        .select_related("dataset__dao", "proof")
        .order_by("pk")
    )
    listed: list[dict[str, Any]] = []
    for contribution in mine.iterator(chunk_size=200):
        entry = {
            "id": contribution.pk,
            "dao": contribution.dataset.dao.slug,
            "dataset": contribution.dataset.slug,
            "sent_at": contribution.created_at,
            "original_name": contribution.original_name,
            "sha256": contribution.sha256,
            "size": contribution.size,
            "media_type": contribution.media_type,
            "status": contribution.status,
            "reasons": contribution.reasons,
            "scores": {
                "authenticity": contribution.authenticity,
                "ownership": contribution.ownership,
                "quality": contribution.quality,
                "uniqueness": contribution.uniqueness,
                "score": contribution.score,
            },
            "cid": contribution.cid,
            "stored_encrypted": bool(contribution.sealed_key),
            "withdrawn_at": contribution.withdrawn_at,
            "proof": None,
            "file": None,
        }
        proof = getattr(contribution, "proof", None)
        if proof is not None:
            entry["proof"] = {"typedData": proof.typed_data, "signature": proof.signature}
        if contribution.withdrawn_at is None:
            try:
                handle = contribution_open(contribution)
            except (FileNotFoundError, sealed.Unreadable, StoreUnavailable) as exc:
                entry["file"] = f"not included: {exc}"
            else:
                entry["file"] = _file_name(contribution)
                yield entry["file"], _chunks(handle)
        else:
            entry["file"] = "not included: consent withdrawn, the stored copy is destroyed"
        listed.append(entry)
    yield "contributions.json", json_file(listed)
    yield (
        "withdrawals.json",
        json_file(
            [
                {
                    "at": w.created_at,
                    "dataset": w.dataset_id,
                    "contributions": w.withdrawn,
                    "derived": w.derived,
                    "typedData": w.typed_data,
                    "signature": w.signature,
                }
                for w in ConsentWithdrawal.objects.filter(contributor=user).order_by("pk")
            ]
        ),
    )
    yield (
        "queries.json",
        json_file(
            [
                {
                    "release": q.release.cid,
                    "sql": q.sql,
                    "state": q.state,
                    "result": q.result,
                    "refusal": q.refusal,
                    "at": q.created_at,
                }
                for q in ReleaseQuery.objects.filter(requested_by=user)
                .select_related("release")
                .order_by("pk")
            ]
        ),
    )
