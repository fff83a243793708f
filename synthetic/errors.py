"""The synthetic app's refusal: services raise it with a message that names the problem."""

from __future__ import annotations


class SyntheticRefused(Exception):
    """A refused request; the message names the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
