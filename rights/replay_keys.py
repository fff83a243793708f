"""What a grantee replays a sealed release with (``datadao verify CID --grant FILE``): the
signed grant and the data keys of the files it covers, in one JSON file.

Format (``datadao_grant`` 1)::

    {"datadao_grant": 1,
     "release": "<the sealed manifest's CID>",
     "grant": {"typedData": {...}, "signature": "0x…"},
     "keys": {"manifest": "<64 hex>", "contributions": {"<id>": "<64 hex>", …}}}

A key is a file's AES-256-GCM data key (``datadao.sealing``), never a key-encryption key: it
opens that one file and nothing else, which a download grant lets the grantee read in the
clear anyway. Contributions are keyed by id, not CID, so a ciphertext swapped under another
CID is opened with its contribution's key and fails authentication rather than go unread.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from contributions.models import Contribution, Release
from contributions.sealed import data_key
from datadao.errors import ApplicationError, Detail
from rights.models import AccessGrant, Scope

GRANT_FILE_FORMAT = 1


class NoReplayKeys(ApplicationError):
    """The grant does not give the keys of this release: the message names why."""


def grant_replay_file(*, grant_id: int, release_cid: str) -> dict[str, Any]:
    """The grant file of grant ``grant_id`` for the release ``release_cid``. Refuses a grant
    that does not work now (revoked, expired, query scope only) or does not cover the release,
    and a release that is not sealed."""
    grant = AccessGrant.objects.select_related("dao").filter(pk=grant_id).first()
    release = Release.objects.select_related("dataset__dao").filter(cid=release_cid).first()
    if grant is None:
        raise NoReplayKeys(
            Detail("There is no grant %(grant_id)s.", grant_id=grant_id), code="not_found"
        )
    if release is None:
        raise NoReplayKeys(
            Detail("There is no release %(release_cid)s.", release_cid=release_cid[:80]),
            code="not_found",
        )
    if grant.revoked_at is not None or grant.expires_at <= timezone.now():
        raise NoReplayKeys(
            Detail("Grant %(grant_id)s is revoked or expired.", grant_id=grant_id),
            code="grant_inactive",
        )
    if grant.scope != Scope.DOWNLOAD:
        raise NoReplayKeys(
            Detail(
                "Grant %(grant_id)s is for %(scope)s only; a replay reads the files.",
                grant_id=grant_id,
                scope=grant.scope,
            ),
            code="grant_scope",
        )
    if grant.dataset_id != release.dataset_id or grant.release_id not in (None, release.pk):
        raise NoReplayKeys(
            Detail(
                "Grant %(grant_id)s does not cover release %(release_cid)s.",
                grant_id=grant_id,
                release_cid=release_cid[:80],
            ),
            code="not_covered",
        )
    if not release.sealed_key:
        raise NoReplayKeys(
            Detail("This release is public: it replays without a grant."), code="not_sealed"
        )
    dao_id = release.dataset.dao.onchain_id
    listed = [int(entry["id"]) for entry in release.manifest.get("contributions", [])]
    sealed = Contribution.objects.filter(pk__in=listed).exclude(sealed_key="")
    return {
        "datadao_grant": GRANT_FILE_FORMAT,
        "release": release.cid,
        "grant": {"typedData": grant.typed_data, "signature": grant.signature},
        "keys": {
            "manifest": data_key(release.sealed_key, dao_id=dao_id).material.hex(),
            "contributions": {
                str(pk): data_key(key, dao_id=dao_id).material.hex()
                for pk, key in sealed.values_list("pk", "sealed_key").order_by("pk")
            },
        },
    }
