"""What the SDK raises: one base class, so a script may catch everything the client says."""

from __future__ import annotations


class DatadaoError(Exception):
    """Anything the SDK refuses or could not do."""


class ApiError(DatadaoError):
    """A request that did not succeed: the platform's refusal (its HTTP status, its stable
    error ``code`` and its ``detail``, written for people), or, with ``status`` 0 and code
    ``connection_error``, a request that never got an answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}" if status else f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class VerificationError(DatadaoError):
    """Downloaded content that does not match the CID it was asked for: nothing of it is kept."""


class WaitTimeout(DatadaoError):
    """A wait that ended before what it waited for; ``last`` is the last state seen."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


class KeystoreError(DatadaoError):
    """A keystore that cannot be written, read or opened; the message says why."""
