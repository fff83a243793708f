"""Governance's part of a personal export (``datadao.personal``): the proposals the person made
and every vote they cast, each as signed (message and signature), with its voting power."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from datadao.personal import json_file
from governance.models import Proposal, Vote


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield (
        "governance.json",
        json_file(
            {
                "proposals": [
                    {
                        "dao": p.dao.slug,
                        "id": p.pk,
                        "title": p.title,
                        "kind": p.kind,
                        "change": p.change,
                        "status": p.status,
                        "hash": p.hash,
                        "created_at": p.created_at,
                        "ends_at": p.ends_at,
                    }
                    for p in Proposal.objects.filter(proposer=user)
                    .select_related("dao")
                    .order_by("pk")
                ],
                "votes": [
                    {
                        "dao": v.proposal.dao.slug,
                        "proposal": v.proposal_id,
                        "proposal_hash": v.proposal.hash,
                        "choice": v.choice,
                        "power": str(int(v.power)),
                        "message": v.message,
                        "signature": v.signature,
                        "at": v.updated_at,
                    }
                    for v in Vote.objects.filter(voter=user)
                    .select_related("proposal__dao")
                    .order_by("pk")
                ],
            }
        ),
    )
