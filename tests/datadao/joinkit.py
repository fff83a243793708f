"""Helpers for the joining tests: users with real keys, and JoinTerms signed by eth-account."""

from __future__ import annotations

import copy
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from datadao.joining import join_terms_typed_data
from datadao.models import DAO, User
from tests.factories import UserFactory


def wallet_user() -> tuple[User, Any]:
    """A user and the key pair of its address (test-only, never persisted)."""
    account = Account.create()
    return UserFactory(address=account.address), account


def sign(typed_data: dict[str, Any], account: Any) -> str:
    return account.sign_message(encode_typed_data(full_message=typed_data)).signature.to_0x_hex()


def signed_terms(
    dao: DAO, user: User, account: Any, *, now: Any = None, **message: Any
) -> tuple[dict[str, Any], str]:
    """The terms ``user`` would be given now, with ``message`` fields changed, signed by
    ``account``: (typed data, signature)."""
    typed = copy.deepcopy(join_terms_typed_data(dao=dao, address=user.address, now=now))
    typed["message"].update(message)
    return typed, sign(typed, account)
