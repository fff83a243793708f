"""Envelope keys: wrap, unwrap, refusals, rotation by rewrap, keystores, and the loader."""

from __future__ import annotations

import io
import json
import os
import pickle
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from datadao.keys import load_kek_ring
from datadao.sealing import (
    DataKey,
    Kek,
    KekConfigError,
    KekRing,
    MalformedError,
    UnknownKekError,
    UnwrapError,
    WrappedKey,
    decrypt_stream,
    encrypt_stream,
    open_keystore,
    parse_ring,
    rewrap,
    seal_keystore,
    unwrap,
    wrap,
)

DAO = "0x" + "ab" * 32
FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}  # tests only: the default costs ~128 MiB


def test_wrap_round_trip_through_text() -> None:
    ring = KekRing([Kek.generate("k1")])
    key = DataKey.generate()
    wrapped = wrap(key, ring, dao=DAO)
    text = wrapped.to_text()
    assert text.startswith("v1.k1.") and key.material.hex() not in text
    assert unwrap(WrappedKey.from_text(text), ring, dao=DAO) == key


def test_wrong_kek_is_refused() -> None:
    key = DataKey.generate()
    wrapped = wrap(key, KekRing([Kek.generate("k1")]), dao=DAO)
    impostor = KekRing([Kek.generate("k1")])  # same id, other key
    with pytest.raises(UnwrapError, match="does not open under KEK 'k1' for this DAO"):
        unwrap(wrapped, impostor, dao=DAO)


def test_wrapped_key_moved_to_another_dao_is_refused() -> None:
    ring = KekRing([Kek.generate("k1")])
    wrapped = wrap(DataKey.generate(), ring, dao=DAO)
    with pytest.raises(UnwrapError):
        unwrap(wrapped, ring, dao="0x" + "cd" * 32)
    with pytest.raises(ValueError, match="DAO"):
        wrap(DataKey.generate(), ring, dao="")


def test_tampered_wrapped_key_is_refused() -> None:
    ring = KekRing([Kek.generate("k1")])
    wrapped = wrap(DataKey.generate(), ring, dao=DAO)
    flipped = bytearray(wrapped.ciphertext)
    flipped[0] ^= 1
    with pytest.raises(UnwrapError):
        unwrap(WrappedKey("k1", wrapped.nonce, bytes(flipped)), ring, dao=DAO)
    for bad in ("v2.k1.AAAA", "v1.k 1.AAAA", "v1.k1.AAAA", "v1.k1.!!!!", "nonsense"):
        with pytest.raises(MalformedError):
            WrappedKey.from_text(bad)


def test_unknown_kek_id_is_refused() -> None:
    wrapped = wrap(DataKey.generate(), KekRing([Kek.generate("old")]), dao=DAO)
    with pytest.raises(UnknownKekError, match="no KEK with id 'old'"):
        unwrap(wrapped, KekRing([Kek.generate("new")]), dao=DAO)


def test_rotation_rewraps_without_touching_the_data() -> None:
    kek1, kek2 = Kek.generate("k1"), Kek.generate("k2")
    key = DataKey.generate()
    plain = os.urandom(5000)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), sealed, key, chunk_size=1024)
    wrapped = wrap(key, KekRing([kek1]), dao=DAO)

    rotating = KekRing([kek2, kek1])  # k2 now wraps, k1 still unwraps
    assert rotating.current.kek_id == "k2"
    rewrapped = rewrap(wrapped, rotating, dao=DAO)
    assert rewrapped.kek_id == "k2" and rewrapped != wrapped
    assert rewrap(rewrapped, rotating, dao=DAO) is rewrapped  # a second sweep changes nothing

    after = KekRing([kek2])  # k1 retired
    opened = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), opened, unwrap(rewrapped, after, dao=DAO))
    assert opened.getvalue() == plain
    with pytest.raises(UnknownKekError):
        unwrap(wrapped, after, dao=DAO)


def test_rewrap_refuses_a_key_that_does_not_open() -> None:
    ring = KekRing([Kek.generate("k2"), Kek.generate("k1")])
    foreign = wrap(DataKey.generate(), KekRing([Kek.generate("k2")]), dao=DAO)
    with pytest.raises(UnwrapError):
        rewrap(foreign, ring, dao=DAO)
    moved = wrap(DataKey.generate(), KekRing([ring.get("k1")]), dao=DAO)
    with pytest.raises(UnwrapError):
        rewrap(moved, ring, dao="another-dao")


def test_parse_ring_first_entry_is_current() -> None:
    a, b = os.urandom(32), os.urandom(32)
    ring = parse_ring(f" new:{a.hex()} , old:{b.hex()}")
    assert (ring.current.kek_id, ring.ids) == ("new", ["new", "old"])
    assert ring.get("old").material == b
    assert parse_ring(ring.to_text()).get("new").material == a


@pytest.mark.parametrize(
    "text, message",
    [
        ("k1", "entry 1 is not id:hexkey"),
        ("k1:zz" + "00" * 31, "entry 1 ('k1'): the key is not hex"),
        ("k1:" + "00" * 16, "KEK 'k1' is not 32 bytes"),
        ("bad id:" + "00" * 32, "a KEK id is"),
        ("k1:" + "00" * 32 + ",k1:" + "11" * 32, "appears twice"),
    ],
)
def test_parse_ring_refusals_never_echo_the_key(text: str, message: str) -> None:
    with pytest.raises(KekConfigError, match=re.escape(message)) as caught:
        parse_ring(text)
    assert "00" * 16 not in str(caught.value) and "11" * 16 not in str(caught.value)


def test_keys_never_in_repr_str_or_pickles() -> None:
    kek = Kek.generate("k1")
    ring = KekRing([kek])
    key = DataKey.generate()
    texts = [repr(kek), str(kek), repr(ring), str(ring), repr(key), f"{ring}"]
    assert repr(ring) == "KekRing(current='k1', ids=['k1'])"
    for text in texts:
        assert kek.material.hex() not in text and key.material.hex() not in text
    for secret in (kek, ring, key):
        with pytest.raises(TypeError):
            pickle.dumps(secret)


def test_keystore_round_trip_and_refusals() -> None:
    ring = KekRing([Kek.generate("k2"), Kek.generate("k1")])
    document = seal_keystore(ring, "correct horse", scrypt=FAST_SCRYPT)
    text = json.dumps(document)
    for kek_id in ring.ids:
        assert ring.get(kek_id).material.hex() not in text
    opened = open_keystore(text, "correct horse")
    assert opened.ids == ["k2", "k1"] and opened.current.kek_id == "k2"
    assert opened.get("k1").material == ring.get("k1").material
    with pytest.raises(KekConfigError, match="does not open with this password"):
        open_keystore(text, "wrong")
    with pytest.raises(KekConfigError, match="expected shape"):
        open_keystore("{}", "correct horse")
    with pytest.raises(KekConfigError, match="needs a password"):
        seal_keystore(ring, "")


def test_load_kek_ring_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    material = os.urandom(32)
    monkeypatch.setenv("DATA_KEK", f"k9:{material.hex()}")
    ring = load_kek_ring()
    assert ring.current.kek_id == "k9" and ring.current.material == material
    monkeypatch.setenv("DATA_KEK", f"k9:{material.hex()[:-2]}")
    with pytest.raises(ImproperlyConfigured, match=r"^DATA_KEK: KEK 'k9' is not 32 bytes$"):
        load_kek_ring()


def test_load_kek_ring_from_a_keystore(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KekRing([Kek.generate("ks")])
    path = tmp_path / "kek.json"
    path.write_text(json.dumps(seal_keystore(ring, "pw", scrypt=FAST_SCRYPT)))
    monkeypatch.delenv("DATA_KEK", raising=False)
    monkeypatch.setenv("DATA_KEK_KEYSTORE", str(path))
    monkeypatch.setenv("DATA_KEK_PASSWORD", "pw")
    assert load_kek_ring().current.material == ring.current.material
    monkeypatch.setenv("DATA_KEK_PASSWORD", "nope")
    with pytest.raises(ImproperlyConfigured, match="does not open with this password"):
        load_kek_ring()
    monkeypatch.setenv("DATA_KEK_KEYSTORE", str(tmp_path / "missing.json"))
    with pytest.raises(ImproperlyConfigured, match="cannot read a keystore"):
        load_kek_ring()
    monkeypatch.delenv("DATA_KEK_KEYSTORE")
    with pytest.raises(ImproperlyConfigured, match="No data key-encryption key"):
        load_kek_ring()
