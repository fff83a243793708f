"""The synthetic app's refusal (``datadao.errors.ApplicationError``): services raise it with a
message that names the problem."""

from __future__ import annotations

from datadao.errors import ApplicationError


class SyntheticRefused(ApplicationError):
    """A refused request; the message names the problem."""
