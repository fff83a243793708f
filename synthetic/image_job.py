"""An augmentation job for an image dataset: derive ``rows_wanted`` images from the dataset's
pinned images with the DAO's pipeline, pin each (flagged synthetic in the manifest, with the
job id and the source it came from), then pin the manifest. Deterministic per seed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from contributions.models import Contribution, Status
from contributions.services import contribution_plaintext
from contributions.services.sealed_pins import content_add_for
from synthetic.images import augment, augment_settings
from synthetic.models import SyntheticJob

MAX_SOURCES = 5000
PROGRESS_EVERY = 25


class NoImages(ValueError):
    pass


def _sources(job: SyntheticJob) -> list[tuple[int, str, np.ndarray]]:
    pinned = (
        Contribution.objects.filter(
            dataset=job.dataset,
            status=Status.PINNED,
            withdrawn_at=None,
            media_type__startswith="image/",
        )
        .order_by("pk")
        .select_related("dataset__dao")
        .only("pk", "cid", "storage_name", "sealed_key", "dataset__dao__onchain_id")[:MAX_SOURCES]
    )
    out = []
    for contribution in pinned:
        with contribution_plaintext(contribution) as path, Image.open(path) as picture:
            mode = "RGB" if picture.mode not in ("L", "RGB", "RGBA") else picture.mode
            out.append((contribution.pk, contribution.cid, np.asarray(picture.convert(mode))))
    return out


def run_augmentation(
    job: SyntheticJob,
    *,
    on_progress: Callable[[dict[str, Any]], bool],
) -> tuple[dict[str, Any], bytes] | None:
    """Returns the manifest (and its bytes), or None when cancelled (``on_progress`` says)."""
    settings = augment_settings(job.augment or {})
    sources = _sources(job)
    if not sources:
        raise NoImages("the dataset has no pinned images to augment yet")
    rng = np.random.default_rng(job.seed)
    items = []
    for n in range(job.rows_wanted):
        if n % PROGRESS_EVERY == 0 and on_progress(
            {"stage": "augment", "done": n, "total": job.rows_wanted}
        ):
            return None
        contribution_id, source_cid, pixels = sources[int(rng.integers(0, len(sources)))]
        image = augment(pixels, rng, settings)
        out = io.BytesIO()
        Image.fromarray(image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image).save(
            out, format="PNG"
        )
        out.seek(0)
        pin = content_add_for(
            dataset=job.dataset, stream=out, label=f"synthetic:{job.pk}", content_type="image/png"
        )
        items.append(
            {"cid": pin.cid, "source_cid": source_cid, "source_contribution": contribution_id}
        )
    manifest = {
        "synthetic": True,
        "job": job.pk,
        "dataset": job.dataset_id,
        "method": "augment",
        "note": "derived from real images: same licence and privacy terms as their sources",
        "provenance": {
            "seed": job.seed,
            "settings": {
                k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()
            },
            "sources": len(sources),
        },
        "items": items,
    }
    on_progress({"stage": "done", "done": len(items), "total": job.rows_wanted})
    data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return manifest, data
