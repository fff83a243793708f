"""Short secrets a person gives the platform (a bearer token for a model server), sealed for
the database the way a sealed file is: the text encrypted with AES-256-GCM under a fresh data
key, the data key wrapped under the key-encryption key ring (``envelope.wrap``), both bound to
the DAO and the use (``binding``). Pure: no Django.

Text form: ``<wrapped data key>~<base64url(nonce | ciphertext)>``. KEK rotation rewraps the
data key only (``reopen``); the encrypted text is untouched.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datadao.sealing.envelope import KekRing, WrappedKey, rewrap, unwrap, wrap
from datadao.sealing.errors import MalformedError, UnwrapError
from datadao.sealing.stream import DataKey

_LABEL = b"datadao sealed text v1\x00"
_NONCE_BYTES = 12


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise MalformedError("the sealed text is not base64url") from None


def seal_text(text: str, ring: KekRing, *, binding: str) -> str:
    """``text`` sealed under a fresh data key wrapped by the ring's current KEK."""
    key = DataKey.generate()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(key.material).encrypt(nonce, text.encode(), _LABEL + binding.encode())
    return f"{wrap(key, ring, dao=binding).to_text()}~{_b64(nonce + sealed)}"


def open_text(sealed: str, ring: KekRing, *, binding: str) -> tuple[str, str | None]:
    """(the text, the sealed form with its data key rewrapped under the current KEK, or None
    when it already is). ``SealError`` when it does not open: another binding, an unknown
    KEK, or altered."""
    wrapped_text, sep, blob = sealed.partition("~")
    if not sep:
        raise MalformedError("not a sealed text")
    wrapped = WrappedKey.from_text(wrapped_text)
    key = unwrap(wrapped, ring, dao=binding)
    raw = _unb64(blob)
    try:
        text = AESGCM(key.material).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _LABEL + binding.encode()
        )
    except InvalidTag:
        raise UnwrapError("the sealed text does not open for this binding") from None
    moved = None
    if wrapped.kek_id != ring.current.kek_id:
        moved = f"{rewrap(wrapped, ring, dao=binding).to_text()}~{blob}"
    return text.decode(), moved
