"""Refusals of proposals and votes (``datadao.errors.ApplicationError``): each carries the
HTTP status, a stable code and a message naming the problem."""

from __future__ import annotations

from datadao.errors import ApplicationError


class ProposalRefused(ApplicationError):
    """A proposal, or a step of one, that is refused before anything is stored."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message, code=code, status_code=status)
