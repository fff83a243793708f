"""The ground floor's part of a personal export: the profile, memberships, signed join terms,
and what the person did that the audit log recorded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from datadao.models import AuditEvent, Membership, TermsAcceptance
from datadao.personal import json_file


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield (
        "profile.json",
        json_file(
            {
                "address": user.address,
                "display_name": user.display_name,
                "joined_platform": user.date_joined,
                "memberships": [
                    {
                        "dao": m.dao.slug,
                        "dao_id": m.dao.onchain_id,
                        "role": m.role,
                        "since": m.created_at,
                    }
                    for m in Membership.objects.filter(user=user).select_related("dao")
                ],
                "terms_signed": [
                    {
                        "dao": t.dao.slug,
                        "at": t.created_at,
                        "terms_hash": t.terms_hash,
                        "typedData": t.typed_data,
                        "signature": t.signature,
                    }
                    for t in TermsAcceptance.objects.filter(user=user).select_related("dao")
                ],
            }
        ),
    )
    yield (
        "audit.json",
        json_file(
            [
                {
                    "at": e.created_at,
                    "verb": e.verb,
                    "dao": e.dao_id,
                    "object": f"{e.object_type}:{e.object_id}",
                    "details": e.details,
                }
                for e in AuditEvent.objects.filter(actor=user).order_by("id").iterator()
            ]
        ),
    )
