"""What sealing refuses, one exception per reason. Every message is a fixed sentence: none
formats a key, a wrapped key or plaintext, so an exception can be logged as it is."""

from __future__ import annotations


class SealError(Exception):
    """Refused: the caller must not serve, store or use anything the failed call produced."""


class MalformedError(SealError):
    """Not a sealed stream or wrapped key of a version this code reads."""


class WrongKeyError(SealError):
    """The data key does not open this stream (or its header was altered: the key check
    covers the header, so the two cannot be told apart)."""


class TamperedError(SealError):
    """A chunk failed authentication: altered, reordered, duplicated or cut."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(f"{message} (chunk {index})")
        self.index = index


class TruncatedError(TamperedError):
    """The stream ends before its final chunk."""


class TrailingDataError(TamperedError):
    """Data follows the final chunk."""


class UnwrapError(SealError):
    """A wrapped data key does not open: wrong key-encryption key, another DAO's key, or
    altered."""


class UnknownKekError(UnwrapError):
    """The ring has no key-encryption key with the wrapped key's id."""


class KekConfigError(SealError):
    """The key-encryption keys given (environment or keystore) cannot be read."""
