"""Refusals of challenges (``datadao.errors.ApplicationError``): each carries the HTTP status,
a stable code and a message naming the problem."""

from __future__ import annotations

from datadao.errors import ApplicationError


class ChallengeRefused(ApplicationError):
    """A challenge, or a step of one, refused before anything is stored."""

    def __init__(
        self, code: str, message: str, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(message, code=code, status_code=status)
        if retry_after is not None:
            self.retry_after = retry_after
