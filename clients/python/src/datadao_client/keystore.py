"""Wallet keys for signing in: a private key, or a keystore (Web3 Secret Storage, version 3)
to create, read the address of, or open.

A new keystore is encrypted with scrypt (eth-account's ``Account.encrypt``) and written with
owner-only permissions; an existing file is never overwritten (it may hold the only copy of a
key).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from datadao_client.errors import KeystoreError


def account_from_key(private_key: str | bytes) -> LocalAccount:
    """The account of a raw private key (hex, with or without 0x, or 32 bytes)."""
    try:
        return Account.from_key(private_key)
    except (ValueError, TypeError):
        # Not the library's message: it may quote the key.
        raise KeystoreError("not a private key (32 bytes, as 64 hex digits)") from None


def keystore_create(*, path: Path, password: str) -> str:
    """Write a new random key to ``path``, encrypted with ``password``; return its address.

    Refuses an empty password and an existing path. The file is created with mode 0600 in
    one step (``O_CREAT | O_EXCL``), so the ciphertext is never readable by others, not even
    for a moment, and a file another process creates meanwhile is not overwritten either.
    """
    if not password:
        raise KeystoreError("the password is empty: a keystore needs one")
    account = Account.create()
    document = Account.encrypt(account.key, password, kdf="scrypt")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path} already exists: refusing to overwrite a keystore") from None
    except OSError as exc:
        raise KeystoreError(f"cannot create {path}: {exc.strerror}") from None
    try:
        # The mode given to os.open is filtered by the umask; set it exactly.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2)
            stream.write("\n")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return account.address


def _read(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeystoreError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"{path} is not a JSON keystore: {exc}") from None
    if not isinstance(document, dict) or ("crypto" not in document and "Crypto" not in document):
        raise KeystoreError(f"{path} is not a keystore (no 'crypto' section)")
    return document


def keystore_address(*, path: Path) -> str:
    """The checksummed address a keystore names, read without its password."""
    address = _read(path).get("address")
    if not isinstance(address, str) or not re.fullmatch(r"(0x)?[0-9a-fA-F]{40}", address):
        raise KeystoreError(
            f"{path} does not name its address; open it with its password to learn it"
        )
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)


def keystore_open(*, path: Path, password: str) -> LocalAccount:
    """The account a keystore holds; a wrong password is a KeystoreError, not a traceback."""
    document = _read(path)
    try:
        return Account.from_key(Account.decrypt(document, password))
    except ValueError as exc:
        raise KeystoreError(f"cannot open the keystore {path}: {exc}") from None


def password_from_file(path: Path) -> str:
    """The first line of a password file (its line ending is not part of the password)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeystoreError(f"cannot read the password file {path}: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise KeystoreError(f"the password file {path} is empty")
    return lines[0]
