"""The web benchmark's data for the pages beyond the counts: a release of each contribution
dataset whose manifest lists its pinned contributions, as ``release_publish`` writes it, and a
webhook endpoint with an event and a delivery per tenth contribution, in SQL."""

from __future__ import annotations

from typing import Any

WEBHOOK_SHARE = 10  # an event (and its delivery) per tenth contribution

# One release per dataset, listing every pinned contribution of the seed (the shape of
# ``contributions.releases`` entries, the fields a page could be tempted to read in full).
RELEASE_SQL = """
INSERT INTO contributions_release (
    dataset_id, version, cid, manifest, sealed_key, proofs_cid, contributions_count, total_bytes,
    created_by_id, created_at, summary
)
SELECT c.dataset_id, 1, 'bench-release-' || c.dataset_id,
       jsonb_build_object(
           'datadao_release', 1,
           'contributions', jsonb_agg(jsonb_build_object(
               'id', c.id, 'cid', c.cid, 'sha256', c.sha256, 'size', c.size,
               'media_type', c.media_type, 'contributor', %(address)s, 'score', c.score,
               'created_at', c.created_at
           ) ORDER BY c.id),
           'totals', jsonb_build_object('contributions', count(*), 'bytes', sum(c.size))
       ),
       '', '', count(*), sum(c.size), %(creator)s, now(),
       jsonb_build_object(
           'totals', jsonb_build_object('contributions', count(*), 'bytes', sum(c.size))
       )
FROM contributions_contribution c
WHERE c.status = 'pinned' AND c.storage_name LIKE 'bench-%%' AND c.dataset_id = ANY(%(datasets)s)
GROUP BY c.dataset_id
RETURNING id
"""

WEBHOOK_EVENTS_SQL = """
INSERT INTO webhooks_webhookevent (dao_id, type, payload, created_at)
SELECT %(dao)s, 'contribution.pinned',
       jsonb_build_object('contribution', c.id, 'cid', c.cid), c.status_changed_at
FROM contributions_contribution c
WHERE c.status = 'pinned' AND c.storage_name LIKE 'bench-%%' AND c.id %% %(share)s = 0
"""

WEBHOOK_DELIVERIES_SQL = """
INSERT INTO webhooks_webhookdelivery (
    endpoint_id, event_id, key, status, attempts, redeliveries, next_attempt_at,
    last_attempt_at, response_status, response_excerpt, error, duration_ms, created_at,
    succeeded_at
)
SELECT %(endpoint)s, e.id, md5('bench-delivery-' || e.id)::uuid,
       CASE WHEN e.id %% 50 = 0 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN e.id %% 50 = 0 THEN 8 ELSE 1 END, 0, e.created_at, e.created_at,
       CASE WHEN e.id %% 50 = 0 THEN 500 ELSE 200 END, '', '', 40, e.created_at,
       CASE WHEN e.id %% 50 = 0 THEN NULL ELSE e.created_at END
FROM webhooks_webhookevent e WHERE e.dao_id = %(dao)s
"""


def seed_more(*, dao: Any, creator: Any, dataset_ids: list[int]) -> dict[str, Any]:
    """The release of each dataset in ``dataset_ids`` and the webhook deliveries; what the
    pages are about (the first release's CID)."""
    from django.db import connection

    from contributions.models import Release
    from ipfs.cid import RAW, Cid
    from webhooks.models import WebhookEndpoint

    with connection.cursor() as cursor:
        params = {"address": creator.address, "creator": creator.pk, "datasets": dataset_ids}
        cursor.execute(RELEASE_SQL, params)
        ids = sorted(row[0] for row in cursor.fetchall())
    # A well-formed CID (the release page parses it), named after the release.
    cids = [str(Cid.of_block(f"bench-release-{pk}".encode(), codec=RAW)) for pk in ids]
    for pk, cid in zip(ids, cids, strict=True):
        Release.objects.filter(pk=pk).update(cid=cid)
    endpoint = WebhookEndpoint.objects.create(
        dao=dao,
        url="https://hooks.example.org/bench",
        description="bench",
        events=["contribution.pinned"],
        sealed_secret="bench-not-a-secret",
        created_by=creator,
    )
    with connection.cursor() as cursor:
        cursor.execute(WEBHOOK_EVENTS_SQL, {"dao": dao.pk, "share": WEBHOOK_SHARE})
        cursor.execute(WEBHOOK_DELIVERIES_SQL, {"dao": dao.pk, "endpoint": endpoint.pk})
    return {"release_cid": cids[0] if cids else ""}
