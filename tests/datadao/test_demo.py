"""The demo command is idempotent: run twice, same state."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from datadao.demo import DEMO_DAO_SLUG
from datadao.models import DAO, AuditEvent, Dataset, DatasetStatus, Membership, User

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, object]:
    return {
        "users": sorted(User.objects.values_list("address", "display_name")),
        "daos": sorted(DAO.objects.values_list("slug", "name", "token_symbol", "chain_id")),
        "members": sorted(Membership.objects.values_list("user__address", "dao__slug", "role")),
        "datasets": sorted(
            Dataset.objects.values_list("slug", "kind", "status", "license", "visibility")
        ),
        "schemas": sorted(str(s) for s in Dataset.objects.values_list("schema", flat=True)),
        "audit": AuditEvent.objects.count(),
    }


def test_demo_twice_gives_the_same_state(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo")
    first = _snapshot()
    call_command("demo")
    assert _snapshot() == first
    assert "Demo ready: 1 DAO, 4 members, 3 datasets." in capsys.readouterr().out
    dao = DAO.objects.get(slug=DEMO_DAO_SLUG)
    assert set(dao.datasets.values_list("kind", flat=True)) == {"tabular", "files", "labeling"}
    assert set(dao.datasets.values_list("status", flat=True)) == {DatasetStatus.OPEN}
