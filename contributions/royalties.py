"""Who a payment for a release pays: the shares ``rewards.royalties.royalty_distribute`` takes.

Read-only. The release's manifest lists the contributions it published, each with its
contributor's address and its accepted score; a contribution still earns from the release
only while it stays pinned (a DAO that rejects it after publishing takes it out of releases
and rewards), while its contributor has not withdrawn consent for it (its data is destroyed,
so no consumer receives it), and while its score is above 0.
"""

from __future__ import annotations

from contributions.models import Contribution, Release, Status

SOURCE = "contributions.contribution"


def release_shares(release: Release) -> list[tuple[int, int]]:
    """(contributor user id, accepted score) per paying contribution: ``release_share_sources``
    without the sources."""
    return [(user_id, score) for user_id, score, _ in release_share_sources(release)]


def release_share_sources(release: Release) -> list[tuple[int, int, str]]:
    """(contributor user id, accepted score, "contributions.contribution:<id>") for each
    contribution of ``release`` that is pinned and not withdrawn, by the same contributor the
    manifest names, with a score > 0, in manifest order. A contributor with several contributions
    appears once per contribution, named by the third element so that the royalty it earns can be
    reversed on its own (an upheld challenge). The score is the one the release published, the basis
    the consumer paid for. One query."""
    entries = (release.manifest or {}).get("contributions") or []
    listed = {int(e["id"]): e for e in entries if isinstance(e, dict) and "id" in e}
    rows = Contribution.objects.filter(
        pk__in=listed, dataset_id=release.dataset_id, status=Status.PINNED, withdrawn_at=None
    ).values_list("pk", "contributor_id", "contributor__address")
    current = {pk: (user_id, address) for pk, user_id, address in rows}
    shares = []
    for pk, entry in listed.items():
        if pk not in current:
            continue
        user_id, address = current[pk]
        if str(entry.get("contributor", "")).lower() != address.lower():
            continue  # the manifest and the database disagree on whose it is: pay nobody
        score = (entry.get("scores") or {}).get("score")
        if isinstance(score, int) and not isinstance(score, bool) and score > 0:
            shares.append((user_id, score, f"{SOURCE}:{pk}"))
    return shares
