"""A small world for the data-rights tests: two DAOs with wallet-holding admins, a
members-only dataset whose contributions and release are pinned on the real js-ipfs node,
and helpers to sign grants and sign consumers in with SIWE."""

from __future__ import annotations

import io
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.test import Client
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from contributions.attestation import dataset_id_bytes32
from contributions.models import Contribution, Release, Status
from datadao.models import DAO, Dataset, Membership, Role, User, Visibility
from ipfs.services import content_add
from rights import grant712
from tests.factories import DAOFactory, DatasetFactory, UserFactory


@dataclass
class World:
    dao: DAO
    other: DAO
    admin: LocalAccount  # an admin (role admin) of ``dao``
    creator: LocalAccount  # its creator
    other_admin: LocalAccount  # the creator of ``other``, no member of ``dao``
    member: LocalAccount  # a contributor of ``dao``
    dataset: Dataset  # members-only
    in_release: Contribution
    not_in_release: Contribution
    release: Release
    plaintext: bytes


def user(account: LocalAccount) -> User:
    return UserFactory(address=account.address)


def signed_in(account: LocalAccount) -> Client:
    client = Client()
    client.force_login(user(account), backend="django.contrib.auth.backends.ModelBackend")
    return client


def siwe_client(account: LocalAccount) -> Client:
    """A browser that signs in with Sign-In with Ethereum, as a consumer does."""
    client = Client()
    issued = client.get("/auth/nonce", {"address": account.address, "chain_id": 1}).json()
    signature = account.sign_message(encode_defunct(text=issued["message"])).signature
    response = client.post(
        "/auth/verify",
        data=json.dumps({"message": issued["message"], "signature": signature.to_0x_hex()}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return client


def pinned(dataset: Dataset, contributor: User, data: bytes) -> Contribution:
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=contributor,
        sha256=secrets.token_hex(32),
        size=len(data),
        storage_name=secrets.token_hex(8),
        status=Status.RECEIVED,
    )
    pin = content_add(stream=io.BytesIO(data), label=f"contribution:{contribution.pk}")
    Contribution.objects.filter(pk=contribution.pk).update(status=Status.PINNED, cid=pin.cid)
    contribution.refresh_from_db()
    return contribution


def build_world() -> World:
    creator, admin, other_admin, member = (Account.create() for _ in range(4))
    dao = DAOFactory(creator=user(creator))
    Membership.objects.create(dao=dao, user=user(admin), role=Role.ADMIN)
    Membership.objects.create(dao=dao, user=user(member), role=Role.CONTRIBUTOR)
    other = DAOFactory(creator=user(other_admin))
    dataset = DatasetFactory(dao=dao, visibility=Visibility.MEMBERS)
    plaintext = b"age,city\n41,Lyon\n" + secrets.token_bytes(8).hex().encode()
    in_release = pinned(dataset, user(member), plaintext)
    not_in_release = pinned(dataset, user(member), b"later,row\n" + secrets.token_bytes(8))
    manifest = {
        "contributions": [
            {"id": in_release.pk, "cid": in_release.cid, "contributor": member.address}
        ]
    }
    pin = content_add(
        stream=io.BytesIO(json.dumps(manifest).encode()),
        label=f"release:{dataset}@v1",
        content_type="application/json",
    )
    release = Release.objects.create(
        dataset=dataset,
        version=1,
        cid=pin.cid,
        manifest=manifest,
        contributions_count=1,
        total_bytes=len(plaintext),
    )
    return World(
        dao=dao,
        other=other,
        admin=admin,
        creator=creator,
        other_admin=other_admin,
        member=member,
        dataset=dataset,
        in_release=in_release,
        not_in_release=not_in_release,
        release=release,
        plaintext=plaintext,
    )


def grant_payload(
    dao: DAO,
    signer: LocalAccount,
    grantee: str,
    dataset: Dataset,
    *,
    release: Release | None = None,
    scope: str = "download",
    expires_in: int = 86_400,
    nonce: int | None = None,
) -> dict[str, Any]:
    """The POST body of a grant, signed by ``signer`` as an admin's wallet would."""
    grant = grant712.Grant(
        grantee=grantee,
        dao_id=dao.onchain_id,
        dataset_id=dataset_id_bytes32(dataset.pk),
        release_cid=release.cid if release else "",
        scope=scope,
        expires_at=int(time.time()) + expires_in,
        nonce=secrets.randbits(128) if nonce is None else nonce,
    )
    typed = grant712.typed_data(grant, chain_id=dao.chain_id)
    return {"typedData": typed, "signature": grant712.sign(typed, signer)}


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def content(response: Any) -> bytes:
    return b"".join(response.streaming_content)
