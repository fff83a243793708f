"""Credits held back from settlement while a challenge of them is open.

A DAO that makes its epochs wait for the challenge window (``DAO.epoch_waits_for_challenges``)
also keeps out of an epoch every credit whose source is under an open challenge. The disputes
app sits above rewards, so it tells rewards which sources are held through this registry,
filled from its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# dao id -> (source_type, source_id) of the credits held.
Holder = Callable[[int], Iterable[tuple[str, str]]]

_HOLDERS: dict[str, Holder] = {}


def register(name: str, holder: Holder) -> None:
    """Register (or replace, by name) a source of holds."""
    _HOLDERS[name] = holder


def held_sources(dao_id: int) -> set[tuple[str, str]]:
    """Every (source_type, source_id) whose credits in ``dao_id`` wait."""
    held: set[tuple[str, str]] = set()
    for holder in _HOLDERS.values():
        held.update(holder(dao_id))
    return held
