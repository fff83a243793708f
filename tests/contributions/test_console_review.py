"""A flagged near-duplicate's console page shows it and the earlier contribution side by side,
to the DAO's creators and admins only."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.models import Contribution, Review, Status
from contributions.services import upload_key
from datadao import blobs
from datadao.models import Membership, Role, User
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # the bytes are served, not decoded


def _contribution(dataset, content: bytes, **fields) -> Contribution:  # type: ignore[no-untyped-def]
    n = Contribution.objects.count()
    defaults = {
        "contributor": UserFactory(),
        "sha256": f"{n + 1000:064x}",
        "size": len(content),
        "storage_name": f"review-{n}-{dataset.pk}",
        "status": Status.REJECTED,
    }
    contribution = Contribution.objects.create(dataset=dataset, **(defaults | fields))
    blobs.store().save_bytes(upload_key(contribution), content)
    return contribution


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _pair(dataset, content: bytes, media_type: str, name: str):  # type: ignore[no-untyped-def]
    earlier = _contribution(
        dataset, content, status=Status.ACCEPTED, media_type=media_type, original_name=f"a-{name}"
    )
    flagged = _contribution(
        dataset,
        content,
        review=Review.PENDING,
        near_duplicate_of=earlier,
        media_type=media_type,
        original_name=f"b-{name}",
    )
    return earlier, flagged


def _page(client: Client, c: Contribution) -> str:
    response = client.get(f"/admin/contributions/contribution/{c.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_csv_files_are_shown_as_escaped_excerpts_side_by_side() -> None:
    dataset = DatasetFactory()
    content = b"city,pm25\n<script>alert(1)</script>,12\n"
    earlier, flagged = _pair(dataset, content, "text/csv", "readings.csv")
    body = _page(_as(dataset.dao.creator), flagged)
    assert '<div class="dd-side-by-side">' in body
    assert "b-readings.csv" in body and "a-readings.csv" in body
    assert body.count("<pre>city,pm25\n&lt;script&gt;alert(1)&lt;/script&gt;,12\n</pre>") == 2
    assert "<script>alert(1)" not in body
    assert f'href="/admin/contributions/contribution/{earlier.pk}/change/"' in body


def test_images_are_shown_as_img_and_served_to_the_daos_admins_only() -> None:
    dataset = DatasetFactory()
    earlier, flagged = _pair(dataset, PNG, "image/png", "photo.png")
    creator = _as(dataset.dao.creator)
    body = _page(creator, flagged)
    for c in (flagged, earlier):
        assert f'<img src="/admin/contributions/contribution/{c.pk}/file/"' in body
    served = creator.get(f"/admin/contributions/contribution/{earlier.pk}/file/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    assert served["Content-Type"] == "image/png"
    assert served["Content-Security-Policy"].startswith("sandbox")

    admin = UserFactory()
    Membership.objects.create(dao=dataset.dao, user=admin, role=Role.ADMIN)
    assert "dd-side-by-side" in _page(_as(admin), flagged)

    other = DAOFactory()
    stranger = _as(other.creator)
    assert (
        stranger.get(f"/admin/contributions/contribution/{flagged.pk}/change/").status_code == 302
    )
    assert stranger.get(f"/admin/contributions/contribution/{earlier.pk}/file/").status_code == 404

    contributor = UserFactory()
    Membership.objects.create(dao=dataset.dao, user=contributor, role=Role.CONTRIBUTOR)
    refused = _as(contributor).get(f"/admin/contributions/contribution/{earlier.pk}/file/")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]


def test_operators_without_the_dao_see_no_files_and_no_pane() -> None:
    dataset = DatasetFactory()
    earlier, flagged = _pair(dataset, PNG, "image/png", "photo.png")
    operator = UserFactory(is_staff=True, is_superuser=False)
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(Permission.objects.get(codename="view_contribution"))
    operator = User.objects.get(pk=operator.pk)
    client = _as(operator)
    assert "dd-side-by-side" not in _page(client, flagged)
    assert client.get(f"/admin/contributions/contribution/{earlier.pk}/file/").status_code == 403


def test_no_preview_for_other_types_and_no_file_view_for_text() -> None:
    dataset = DatasetFactory()
    earlier, flagged = _pair(dataset, b"<svg onload=alert(1)>", "image/svg+xml", "x.svg")
    body = _page(_as(dataset.dao.creator), flagged)
    assert "No preview for image/svg+xml." in body and "/file/" not in body
    client = _as(dataset.dao.creator)
    assert client.get(f"/admin/contributions/contribution/{earlier.pk}/file/").status_code == 404
    plain = _contribution(dataset, b"no pair", media_type="text/plain")
    assert "dd-side-by-side" not in _page(client, plain)
