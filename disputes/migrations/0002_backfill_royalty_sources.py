"""Name the sources of royalty payments credited before payments recorded them, so an upheld
challenge reverses their royalties too (``rewards.clawbacks._reverse_royalties``).

Each payee's score in a payment is the sum of the scores, published in the release consumed, of
their contributions that were pinned then. That set is recovered from the release's manifest:
all of the payee's listed contributions with a score, or, if those add up to more, the ones still
pinned and not withdrawn. A payment for which neither adds up to the payee's recorded score is
left as it is (its royalties cannot be apportioned to a source, so none is reversed)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _listed(manifest: Any) -> list[tuple[int, str, int]]:
    out = []
    for entry in (manifest or {}).get("contributions") or []:
        if not isinstance(entry, dict) or "id" not in entry:
            continue
        score = (entry.get("scores") or {}).get("score")
        if isinstance(score, int) and not isinstance(score, bool) and score > 0:
            out.append((int(entry["id"]), str(entry.get("contributor", "")).lower(), score))
    return out


def backfill(apps: Any, schema_editor: Any) -> None:
    RoyaltyPayment = apps.get_model("rewards", "RoyaltyPayment")
    Release = apps.get_model("contributions", "Release")
    Contribution = apps.get_model("contributions", "Contribution")
    for payment in RoyaltyPayment.objects.filter(sources=[]).exclude(release_cid="").iterator():
        release = Release.objects.filter(
            cid=payment.release_cid, dataset_id=payment.dataset_id
        ).first()
        if release is None:
            continue
        listed = _listed(release.manifest)
        live = set(
            Contribution.objects.filter(
                pk__in=[pk for pk, _, _ in listed], status="pinned", withdrawn_at=None
            ).values_list("pk", flat=True)
        )
        sources = []
        for row in payment.shares:
            address = row["address"].lower()
            mine = [(pk, score) for pk, owner, score in listed if owner == address]
            for candidate in (mine, [(pk, s) for pk, s in mine if pk in live]):
                if candidate and sum(s for _, s in candidate) == int(row["score"]):
                    sources += [
                        {
                            "account": row["account"],
                            "score": score,
                            "source": f"contributions.contribution:{pk}",
                        }
                        for pk, score in candidate
                    ]
                    break
        if sources:
            payment.sources = sources
            payment.save(update_fields=["sources"])


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0001_initial"),
        ("rewards", "0007_royalty_reversals"),
        ("contributions", "0014_tally_triggers_back"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
