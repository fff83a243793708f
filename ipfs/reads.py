"""Who read what: the hook that the read paths (``/ipfs/<cid>``, release downloads) call once
they have decided to serve content, before a byte of it is opened.

The IPFS layer keeps no log itself (it knows nothing of datasets or grants); an app that does
registers a recorder here in its ``AppConfig.ready()``. Fail closed: a recorder that raises
turns the read into a 503 (``ReadNotLogged``), so content is never served unlogged without
anyone noticing; the cause goes to the error log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from datadao.errors import ApplicationError, Detail

logger = logging.getLogger(__name__)

# ``recorder(user, label, cid)``: ``user`` is the request's user (possibly anonymous).
Recorder = Callable[[Any, str, str], None]
_RECORDERS: list[Recorder] = []


class ReadNotLogged(ApplicationError):
    status_code = 503
    code = "read_not_logged"


def register(recorder: Recorder) -> None:
    """Add a recorder; registering the same one twice keeps one copy."""
    if recorder not in _RECORDERS:
        _RECORDERS.append(recorder)


def record(*, user: Any, label: str, cid: str) -> None:
    """Tell every recorder that ``user`` is about to read ``cid`` (pinned under ``label``).
    Raises ``ReadNotLogged`` (503) when one fails: the caller must not serve the content."""
    for recorder in _RECORDERS:
        try:
            recorder(user, label, cid)
        except Exception as exc:
            logger.exception("read of %s (%s) could not be logged", cid, label)
            raise ReadNotLogged(
                Detail(
                    "This read could not be recorded in the access log, so the "
                    "content is not served; try again shortly."
                )
            ) from exc
