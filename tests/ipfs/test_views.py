"""``/ipfs/<cid>`` and caches: only public content may be kept by a shared cache.

The attack: a member fetches members-only content through a CDN or caching proxy. Sent with
``Cache-Control: public``, the cache keeps it for a year and hands it to the next visitor, who
never signs in. Members-only content must be ``private`` (the member's own browser only) with
``Vary: Cookie``; public content stays ``public`` and cacheable by everyone; and the 404 for
content one may not see must not be told apart from the 404 for a CID never pinned here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from contributions.models import Contribution, Status
from datadao.models import Dataset, Membership, Role, Visibility
from ipfs.models import Pin
from ipfs.services import content_add
from synthetic.models import SyntheticJob
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

NEVER_PINNED = "bafkreiarixhwaaxb42h2sceueinbw7ztg2mnixmnqr3p5ruym5mkyosdtq"
YEAR = "max-age=31536000, immutable"


@pytest.fixture(autouse=True)
def _embedded_store(tmp_path: Path) -> Iterator[None]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _labels(dataset: Dataset) -> dict[str, str]:
    """A pin label of every kind that belongs to ``dataset``."""
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=UserFactory(),
        sha256=f"{dataset.pk:064x}",
        size=3,
        storage_name=f"s{dataset.pk}",
        status=Status.RECEIVED,
    )
    job = SyntheticJob.objects.create(dataset=dataset)
    return {
        "contribution": f"contribution:{contribution.pk}",
        "release": f"release:{dataset}@v1",
        "labeling": f"labeling:{dataset.pk}",
        "synthetic": f"synthetic:{job.pk}",
    }


def _pins(dataset: Dataset) -> dict[str, Pin]:
    return {
        kind: content_add(stream=io.BytesIO(f"{label} bytes".encode()), label=label)
        for kind, label in _labels(dataset).items()
    }


def _vary(response: Any) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


@pytest.fixture
def world() -> dict[str, Any]:
    dao = DAOFactory()
    member = UserFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    members_only = DatasetFactory(dao=dao, slug="secret", visibility=Visibility.MEMBERS)
    public = DatasetFactory(dao=dao, slug="open", visibility=Visibility.PUBLIC)
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return {"member": client, "private": _pins(members_only), "public": _pins(public)}


@pytest.mark.parametrize("kind", ["contribution", "release", "labeling", "synthetic"])
def test_members_only_content_is_never_cacheable_by_a_shared_cache(
    world: dict[str, Any], kind: str
) -> None:
    pin = world["private"][kind]
    response = world["member"].get(f"/ipfs/{pin.cid}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == f"{pin.label} bytes".encode()
    assert response["Cache-Control"] == f"private, {YEAR}"
    assert "cookie" in _vary(response)
    # What a shared cache would otherwise have handed on: the next visitor gets nothing.
    assert Client().get(f"/ipfs/{pin.cid}").status_code == 404


@pytest.mark.parametrize("kind", ["contribution", "release", "labeling", "synthetic"])
def test_public_content_stays_cacheable_by_everyone(world: dict[str, Any], kind: str) -> None:
    pin = world["public"][kind]
    for client in (Client(), world["member"]):  # the same answer, signed in or not
        response = client.get(f"/ipfs/{pin.cid}")
        assert response.status_code == 200
        assert response["Cache-Control"] == f"public, {YEAR}"
        assert "cookie" not in _vary(response)


def test_content_of_no_dataset_is_public(world: dict[str, Any]) -> None:
    pin = content_add(stream=io.BytesIO(b"an epoch's Merkle tree"), label="epoch:dao:1")
    response = Client().get(f"/ipfs/{pin.cid}")
    assert response.status_code == 200
    assert response["Cache-Control"] == f"public, {YEAR}"


def test_a_hidden_cid_and_a_never_pinned_cid_get_the_same_uncacheable_404(
    world: dict[str, Any],
) -> None:
    outsider = Client()
    hidden = outsider.get(f"/ipfs/{world['private']['contribution'].cid}")
    unknown = outsider.get(f"/ipfs/{NEVER_PINNED}")
    for response in (hidden, unknown):
        assert response.status_code == 404
        assert response.content == b"This CID is not pinned here."
        assert response["Cache-Control"] == "private, no-store"
        assert "cookie" in _vary(response)
    # Every header alike but the request's own id (random per request).
    assert {k: v for k, v in hidden.headers.items() if k != "X-Request-ID"} == {
        k: v for k, v in unknown.headers.items() if k != "X-Request-ID"
    }
