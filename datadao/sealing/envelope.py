"""Envelope keys: data keys wrapped by the DAO platform's key-encryption keys (KEKs).

A data key is wrapped with AES-256-GCM under a KEK, with the KEK's id and the DAO's id in the
associated data. AES-GCM rather than AES key wrap (RFC 3394): key wrap has no associated data,
so binding a wrapped key to its DAO would need a second mechanism (a per-DAO derived KEK); GCM
binds it directly, and a wrapped key copied to another DAO's record does not open. The nonce is
random (96 bits): NIST's limit of 2^32 messages per key is far beyond the number of files.

A ``KekRing`` holds several KEKs by id; the current one wraps, any of them unwraps. Rotation is
``rewrap`` of every wrapped key under the new current KEK, which touches neither the sealed
data nor its content address; once no wrapped key names the old id, the old KEK leaves the
ring. The wrapped key's text form carries its KEK id in the clear for that reason (a sweep can
find what is left to rewrap); the id is not secret.

Text forms (the keys are 32 bytes, hex):

* ring, as in ``DATA_KEK``: ``id:hexkey[,id:hexkey...]``; the first entry is current;
* wrapped key: ``v1.<kek_id>.<base64url(nonce | ciphertext)>``;
* keystore: a JSON object, the ring text sealed with AES-256-GCM under a scrypt-derived key
  (``seal_keystore`` / ``open_keystore``).

Ids are 1 to 32 of ``[A-Za-z0-9_-]``. Nothing here formats a key into a repr, str or message.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from datadao.sealing.errors import KekConfigError, MalformedError, UnknownKekError, UnwrapError
from datadao.sealing.stream import KEY_BYTES, DataKey

_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_WRAP_LABEL = b"datadao data key wrap v1\x00"
_WRAP_VERSION = "v1"
_NONCE_BYTES = 12
_KEYSTORE_LABEL = b"datadao kek keystore v1"
# scrypt at 2^17 x 8: about 128 MiB and a fraction of a second, once per process.
KEYSTORE_SCRYPT = {"n": 2**17, "r": 8, "p": 1}


class Kek:
    """One key-encryption key. Its repr and str show the id only."""

    __slots__ = ("_material", "kek_id")

    def __init__(self, kek_id: str, material: bytes) -> None:
        if not _ID.fullmatch(kek_id):
            raise KekConfigError("a KEK id is 1 to 32 of A-Z a-z 0-9 _ -")
        if len(material) != KEY_BYTES:
            raise KekConfigError(f"KEK {kek_id!r} is not {KEY_BYTES} bytes")
        self.kek_id = kek_id
        self._material = bytes(material)

    @classmethod
    def generate(cls, kek_id: str) -> Kek:
        return cls(kek_id, secrets.token_bytes(KEY_BYTES))

    @property
    def material(self) -> bytes:
        return self._material

    def __repr__(self) -> str:
        return f"Kek({self.kek_id!r}, <hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("a Kek is not picklable")


class KekRing:
    """KEKs by id; ``current`` wraps new data keys, every member unwraps."""

    __slots__ = ("_keks", "current")

    def __init__(self, keks: list[Kek], *, current: str | None = None) -> None:
        if not keks:
            raise KekConfigError("a KEK ring needs at least one key")
        by_id: dict[str, Kek] = {}
        for kek in keks:
            if kek.kek_id in by_id:
                raise KekConfigError(f"KEK id {kek.kek_id!r} appears twice")
            by_id[kek.kek_id] = kek
        current = keks[0].kek_id if current is None else current
        if current not in by_id:
            raise KekConfigError(f"the current KEK {current!r} is not in the ring")
        self._keks: Mapping[str, Kek] = by_id
        self.current = by_id[current]

    @property
    def ids(self) -> list[str]:
        return list(self._keks)

    def get(self, kek_id: str) -> Kek:
        try:
            return self._keks[kek_id]
        except KeyError:
            raise UnknownKekError(f"no KEK with id {kek_id!r} in the ring") from None

    def to_text(self) -> str:
        """The ring in ``DATA_KEK`` form, current first: only for writing a keystore."""
        order = [self.current, *(k for k in self._keks.values() if k is not self.current)]
        return ",".join(f"{k.kek_id}:{k.material.hex()}" for k in order)

    def __repr__(self) -> str:
        return f"KekRing(current={self.current.kek_id!r}, ids={self.ids!r})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("a KekRing is not picklable")


def parse_ring(text: str) -> KekRing:
    """A ring from ``id:hexkey,...`` (the first is current). Errors never echo a key."""
    keks = []
    for position, entry in enumerate(text.split(","), start=1):
        kek_id, sep, hexkey = entry.strip().partition(":")
        if not sep:
            raise KekConfigError(f"entry {position} is not id:hexkey")
        try:
            material = bytes.fromhex(hexkey.strip())
        except ValueError:
            raise KekConfigError(f"entry {position} ({kek_id!r}): the key is not hex") from None
        keks.append(Kek(kek_id.strip(), material))
    return KekRing(keks)


@dataclass(frozen=True)
class WrappedKey:
    """A data key sealed under one KEK for one DAO; safe to store (it is not a secret)."""

    kek_id: str
    nonce: bytes
    ciphertext: bytes

    def to_text(self) -> str:
        blob = base64.urlsafe_b64encode(self.nonce + self.ciphertext).decode().rstrip("=")
        return f"{_WRAP_VERSION}.{self.kek_id}.{blob}"

    @classmethod
    def from_text(cls, text: str) -> WrappedKey:
        version, _, rest = text.partition(".")
        kek_id, _, blob = rest.partition(".")
        if version != _WRAP_VERSION or not _ID.fullmatch(kek_id):
            raise MalformedError("not a wrapped data key of a version this code reads")
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        except ValueError:
            raise MalformedError("the wrapped data key is not base64url") from None
        if len(raw) != _NONCE_BYTES + KEY_BYTES + 16:
            raise MalformedError("the wrapped data key has the wrong length")
        return cls(kek_id, raw[:_NONCE_BYTES], raw[_NONCE_BYTES:])


def _aad(kek_id: str, dao: str) -> bytes:
    if not dao:
        raise ValueError("a wrapped key is bound to a DAO: its id is required")
    # Length-prefixed, so ("a", "bc") and ("ab", "c") differ.
    parts = [kek_id.encode(), dao.encode()]
    return _WRAP_LABEL + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def wrap(key: DataKey, ring: KekRing, *, dao: str) -> WrappedKey:
    """``key`` wrapped under the ring's current KEK, bound to ``dao`` (its stable id)."""
    kek = ring.current
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(kek.material).encrypt(nonce, key.material, _aad(kek.kek_id, dao))
    return WrappedKey(kek.kek_id, nonce, sealed)


def unwrap(wrapped: WrappedKey, ring: KekRing, *, dao: str) -> DataKey:
    """The data key, or ``UnwrapError``: wrong KEK, another DAO, or altered."""
    kek = ring.get(wrapped.kek_id)
    try:
        material = AESGCM(kek.material).decrypt(
            wrapped.nonce, wrapped.ciphertext, _aad(kek.kek_id, dao)
        )
    except InvalidTag:
        raise UnwrapError(
            f"the wrapped data key does not open under KEK {kek.kek_id!r} for this DAO"
        ) from None
    return DataKey(material)


def rewrap(wrapped: WrappedKey, ring: KekRing, *, dao: str) -> WrappedKey:
    """``wrapped`` under the ring's current KEK; the sealed data is untouched. A key already
    under the current KEK is returned as it is (rotation sweeps can run twice)."""
    if wrapped.kek_id == ring.current.kek_id:
        unwrap(wrapped, ring, dao=dao)  # still refuse one that does not open
        return wrapped
    return wrap(unwrap(wrapped, ring, dao=dao), ring, dao=dao)


def _scrypt(salt: bytes, params: Mapping[str, int], password: str) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        password.encode()
    )


def seal_keystore(
    ring: KekRing, password: str, *, scrypt: Mapping[str, int] = KEYSTORE_SCRYPT
) -> dict[str, Any]:
    """The ring as a password-encrypted keystore (a JSON-ready dict)."""
    if not password:
        raise KekConfigError("a keystore needs a password")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(_NONCE_BYTES)
    params = {"n": int(scrypt["n"]), "r": int(scrypt["r"]), "p": int(scrypt["p"])}
    sealed = AESGCM(_scrypt(salt, params, password)).encrypt(
        nonce, ring.to_text().encode(), _KEYSTORE_LABEL
    )
    return {
        "kind": "datadao-kek-keystore",
        "version": 1,
        "kdf": "scrypt",
        "kdfparams": params,
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "ciphertext": sealed.hex(),
    }


def open_keystore(document: str | Mapping[str, Any], password: str) -> KekRing:
    """The ring inside a keystore; ``KekConfigError`` for a wrong password or a bad file."""
    try:
        doc = json.loads(document) if isinstance(document, str) else document
        if doc["kind"] != "datadao-kek-keystore" or doc["version"] != 1:
            raise KekConfigError("not a datadao KEK keystore of a version this code reads")
        params = {name: int(doc["kdfparams"][name]) for name in ("n", "r", "p")}
        salt, nonce = bytes.fromhex(doc["salt"]), bytes.fromhex(doc["nonce"])
        sealed = bytes.fromhex(doc["ciphertext"])
    except (ValueError, KeyError, TypeError):
        raise KekConfigError("the keystore is not valid JSON of the expected shape") from None
    try:
        text = AESGCM(_scrypt(salt, params, password)).decrypt(nonce, sealed, _KEYSTORE_LABEL)
    except InvalidTag:
        raise KekConfigError("the keystore does not open with this password") from None
    return parse_ring(text.decode())
