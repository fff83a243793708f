"""The navigation offers the console only to those who can use it."""

from __future__ import annotations

import pytest
from django.test import Client

from datadao.models import Membership, Role
from tests.factories import DAOFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.get("/").content.decode()


def test_console_link_only_for_managers() -> None:
    dao = DAOFactory()
    contributor = UserFactory()
    Membership.objects.create(dao=dao, user=contributor, role=Role.CONTRIBUTOR)
    assert ">Console<" in _page(dao.creator)
    assert ">Console<" not in _page(contributor)
    assert ">Console<" not in Client().get("/").content.decode()
