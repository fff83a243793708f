"""Notices on a DAO's console page: what needs its managers' attention, from the apps built
on datadao (a webhook endpoint disabled after persistent failures). Each app registers a
reader in its ``AppConfig.ready()``; the DAO's page shows what they return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from datadao.models import DAO


@dataclass(frozen=True)
class Notice:
    key: str
    text: str
    url: str = ""
    link_text: str = ""


Reader = Callable[[DAO], list[Notice]]
_READERS: dict[str, Reader] = {}


def register(name: str, reader: Reader) -> None:
    _READERS[name] = reader  # by name: a second ready() (tests) replaces, never doubles


def for_dao(dao: DAO) -> list[Notice]:
    """Every registered app's notices for ``dao`` (one query or so per app)."""
    return [notice for reader in _READERS.values() for notice in reader(dao)]
