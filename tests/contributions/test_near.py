"""The near-duplicate search over a dataset's every fingerprint (``contributions.near``), on
PostgreSQL: grown by id, complete, and never giving a deleted contribution as a verdict."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contributions import near, scoring
from contributions.models import Contribution, Fingerprint, Status
from contributions.nearindex import minhash_sketch
from tests.contributions.conftest import IMAGE_SCHEMA
from tests.factories import DatasetFactory, contributions_bulk

pytestmark = pytest.mark.django_db


def _prints(dataset, values: list[int]) -> list[Contribution]:  # type: ignore[no-untyped-def]
    made = contributions_bulk(dataset, len(values), status=Status.ACCEPTED)
    start = Fingerprint.objects.filter(dataset=dataset).count()
    Fingerprint.objects.bulk_create(
        Fingerprint(contribution=c, dataset=dataset, phash=v, seq=start + i + 1)
        for i, (c, v) in enumerate(zip(made, values, strict=True))
    )
    return made


def test_the_oldest_of_many_images_is_found_and_new_ones_join_on_the_next_search() -> None:
    dataset = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    rng = np.random.default_rng(1)
    spread = [int(v) for v in rng.integers(-(2**62), 2**62, size=3000, dtype=np.int64)]
    oldest = _prints(dataset, [12345])[0]
    _prints(dataset, [v for v in spread if bin((v ^ 12345) & (2**64 - 1)).count("1") > 20])

    first = near.image_nearest(dataset.pk, 12345 ^ 0b11, exclude=0, threshold=6)
    assert (first.contribution_id, first.distance) == (oldest.pk, 2)
    assert first.horizon == Fingerprint.objects.filter(dataset=dataset).count()

    # A new fingerprint is one statement away: the search grows the index by id.
    newer = _prints(dataset, [12345 ^ 0b1])[0]
    with CaptureQueriesContext(connection) as queries:
        second = near.image_nearest(dataset.pk, 12345 ^ 0b11, exclude=0, threshold=0)
    assert (second.contribution_id, second.distance) == (newer.pk, 1)
    assert second.horizon > first.horizon
    assert len(queries) == 1  # no verdict to check under a threshold of 0


def test_a_deleted_neighbour_is_never_the_verdict() -> None:
    dataset = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    kept, gone = _prints(dataset, [1000, 1001])
    assert near.image_nearest(dataset.pk, 1001, exclude=0, threshold=6).contribution_id == gone.pk
    Contribution.objects.filter(pk=gone.pk).delete()  # its fingerprint goes with it
    again = near.image_nearest(dataset.pk, 1001, exclude=0, threshold=6)
    assert (again.contribution_id, again.distance) == (kept.pk, 1)


def test_numbers_that_went_back_make_the_index_read_whole() -> None:
    dataset = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    first, _ = _prints(dataset, [7, 8])
    assert near.image_nearest(dataset.pk, 7, exclude=0, threshold=6).contribution_id == first.pk
    Fingerprint.objects.filter(dataset=dataset).delete()
    # A restored database: a fingerprint below the index's newest number, nothing above it.
    other = contributions_bulk(dataset, 1, status=Status.ACCEPTED)[0]
    Fingerprint.objects.create(contribution=other, dataset=dataset, phash=7, seq=1)
    found = near.image_nearest(dataset.pk, 7, exclude=0, threshold=6)
    assert (found.contribution_id, found.horizon) == (other.pk, 1)


def test_the_recorder_numbers_each_datasets_fingerprints_in_order() -> None:
    from contributions.services.record import _number_fingerprints

    one = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    two = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    _prints(one, [1, 2])
    made = contributions_bulk(one, 2, status=Status.ACCEPTED) + contributions_bulk(
        two, 1, status=Status.ACCEPTED
    )
    prints = [Fingerprint(contribution=c, dataset_id=c.dataset_id, phash=5) for c in made]
    _number_fingerprints(prints)
    assert [p.seq for p in prints] == [3, 4, 1]


def test_a_text_search_compares_full_signatures_and_sketches_a_row_recorded_without_one() -> None:
    dataset = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    base = " ".join(f"word{i}" for i in range(80))
    texts = [base, base.replace("word7 ", "other "), "entirely different words here " * 5]
    made = contributions_bulk(dataset, len(texts), status=Status.ACCEPTED)
    signatures = [scoring.text_minhash(t) for t in texts]
    Fingerprint.objects.bulk_create(
        [
            # The first without its sketch, as a row recorded before sketches were kept.
            Fingerprint(contribution=made[0], dataset=dataset, minhash=signatures[0], seq=1),
            *(
                Fingerprint(
                    contribution=c, dataset=dataset, minhash=s, sketch=minhash_sketch(s), seq=i + 2
                )
                for i, (c, s) in enumerate(zip(made[1:], signatures[1:], strict=True))
            ),
        ]
    )
    query = scoring.text_minhash(base + " tail")
    found = near.text_nearest(dataset.pk, query, exclude=0, threshold=0.8)
    _, expected = scoring.nearest_jaccard(query, signatures)
    assert found.similarity == expected
    assert found.contribution_id == made[0].pk
    # Itself excluded, the next best.
    assert near.text_nearest(dataset.pk, signatures[0], exclude=made[0].pk, threshold=0.8) == (
        near.Nearest(
            made[1].pk,
            found.horizon,
            similarity=scoring.nearest_jaccard(signatures[0], signatures[1:2])[1],
        )
    )


def test_an_empty_dataset_has_no_neighbour() -> None:
    dataset = DatasetFactory(kind="files", schema=IMAGE_SCHEMA)
    assert near.image_nearest(dataset.pk, 1, exclude=0, threshold=6) == near.Nearest(None, 0)
    assert near.text_nearest(
        dataset.pk, scoring.text_minhash("anything at all"), exclude=0, threshold=0.8
    ) == near.Nearest(None, 0)
