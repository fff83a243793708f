"""Encryption at rest, as a pure library (no Django): sealed streams (``stream``) and the
envelope keys that open them (``envelope``). The key-encryption keys are loaded by
``datadao.keys.load_kek_ring`` from the environment or a keystore, never the database."""

from datadao.sealing.envelope import (
    Kek,
    KekRing,
    WrappedKey,
    open_keystore,
    parse_ring,
    rewrap,
    seal_keystore,
    unwrap,
    wrap,
)
from datadao.sealing.errors import (
    KekConfigError,
    MalformedError,
    SealError,
    TamperedError,
    TrailingDataError,
    TruncatedError,
    UnknownKekError,
    UnwrapError,
    WrongKeyError,
)
from datadao.sealing.stream import (
    DEFAULT_CHUNK_SIZE,
    DataKey,
    decrypt_stream,
    encrypt_stream,
    iter_decrypt,
    sealed_size,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DataKey",
    "Kek",
    "KekConfigError",
    "KekRing",
    "MalformedError",
    "SealError",
    "TamperedError",
    "TrailingDataError",
    "TruncatedError",
    "UnknownKekError",
    "UnwrapError",
    "WrappedKey",
    "WrongKeyError",
    "decrypt_stream",
    "encrypt_stream",
    "iter_decrypt",
    "open_keystore",
    "parse_ring",
    "rewrap",
    "seal_keystore",
    "sealed_size",
    "unwrap",
    "wrap",
]
