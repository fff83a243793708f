"""A DAO's own signature on its validator set versions (#24 gap 5): without it the versions a
release publishes are the platform's word, and an operator can slip in an empty version that
makes its own fleet proof look legitimate. A reader who knows the DAO's key
(``--set-signer``) refuses every version that key did not adopt, a forged adoption, an
altered adopted version and a release that hides the sets."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from eth_account import Account
from eth_account.signers.local import LocalAccount

from contributions.models import ValidatorSet
from contributions.quorum.adoption import adoption_typed_data, sign_adoption
from contributions.quorum.errors import ValidatorSetRefused
from contributions.quorum.services import validator_set_adopt, validator_set_typed_data
from contributions.releases import instant, release_publish
from datadao.keys import load_signer
from datadao.models import AuditEvent, DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.contributions.quorum import attest, attesting, pin, register, validator_keys
from tests.factories import DatasetFactory, UserFactory
from tests.verify.conftest import Published
from tests.verify.test_replay import discrepancies, verify
from tests.verify.test_set_history import _moment, _operator_signs

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(dao) -> LocalAccount:  # type: ignore[no-untyped-def]
    account: LocalAccount = Account.create()
    Membership.objects.create(dao=dao, user=UserFactory(address=account.address), role=Role.CREATOR)
    return account


@pytest.fixture
def adopted(dao, owner: LocalAccount, member_client: Client, embedded: Path) -> Published:  # type: ignore[no-untyped-def]
    """A 2-of-3 set adopted by the DAO's creator through the management command, and a
    contribution its validators attested."""
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA, name="Adopted"),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    keys = validator_keys(3, tag="adopted")
    validator_set = register(dao, keys, 2)
    printed = io.StringIO()
    call_command("validator_set_adoption", dao.slug, "1", stdout=printed)
    payload = json.loads(printed.getvalue())
    assert payload["message"]["validators"] == sorted(k.address for k in keys)
    assert payload["message"]["threshold"] == 2
    out = io.StringIO()
    call_command(
        "validator_set_adoption",
        dao.slug,
        "1",
        "--signature",
        sign_adoption(payload, owner),
        stdout=out,
    )
    assert out.getvalue() == f"validator set 1 of {dao.slug} adopted by {owner.address}\n"
    assert ValidatorSet.objects.get(pk=validator_set.pk).adopted_by == owner.address
    waiting = attesting(member_client, dataset, good_csv(5, start=0))
    client = Client()
    attest(client, keys[0], waiting.pk)
    attest(client, keys[1], waiting.pk)
    contribution = pin(waiting.pk)
    release = release_publish(dataset=dataset, actor=None)
    return Published(release=release, contributions=[contribution], epoch=None, store=embedded)  # type: ignore[arg-type]


def test_an_adopted_set_replays_clean_with_the_daos_key(
    adopted: Published, owner: LocalAccount, tmp_path: Path
) -> None:
    [published] = adopted.manifest["validator_sets"]
    assert published["adoption"]["signer"] == owner.address
    status, lines, _ = verify(
        adopted.release.cid, str(adopted.store), tmp_path, set_signers=[owner.address]
    )
    assert status == 0, lines
    # Without the key the reader is told whose word the version is.
    status, lines, _ = verify(adopted.release.cid, str(adopted.store), tmp_path)
    assert status == 0, lines
    assert (
        f"note validator set 1: adopted by {owner.address}: give --set-signer "
        f"{owner.address} if that is the DAO's key"
    ) in lines


def _slip_in_an_empty_version(manifest: dict) -> dict:  # type: ignore[type-arg]
    """The operator's attack: an empty set version dated just before the contribution's
    proof, and its own fleet proof in place of the validators' signatures."""
    entry = manifest["contributions"][0]
    since = _moment(entry["attested_at"]) - timedelta(microseconds=1)
    forged = {"version": 2, "threshold": 0, "validators": [], "since": instant(since)}
    manifest["validator_sets"].append(forged)
    _operator_signs(manifest, entry)
    return forged


def test_an_empty_version_slipped_in_by_the_operator_is_refused(
    adopted: Published, owner: LocalAccount, tmp_path: Path
) -> None:
    manifest = adopted.manifest
    forged = _slip_in_an_empty_version(manifest)
    cid = adopted.republish(manifest)
    # Taking the manifest's word for the sets, the forged fleet proof passes.
    status, lines, _ = verify(cid, str(adopted.store), tmp_path)
    assert status == 0, lines
    # With the DAO's key it does not.
    status, lines, _ = verify(cid, str(adopted.store), tmp_path, set_signers=[owner.address])
    assert status == 1
    assert discrepancies(lines) == [
        f"DISCREPANCY validator set 2: not adopted by the DAO's key ({owner.address}): no "
        "adoption signature, so it is the platform's word"
    ]
    # Adopted by the operator's own key: still not the DAO's.
    operator: LocalAccount = load_signer("validator")
    dataset = manifest["dataset"]
    payload = adoption_typed_data(
        dao_id=dataset["dao_id"],
        chain_id=dataset["chain_id"],
        version=2,
        validators=[],
        threshold=0,
        since=_moment(forged["since"]),
    )
    forged["adoption"] = {"signer": operator.address, "signature": sign_adoption(payload, operator)}
    status, lines, _ = verify(
        adopted.republish(manifest), str(adopted.store), tmp_path, set_signers=[owner.address]
    )
    assert status == 1
    assert discrepancies(lines) == [
        f"DISCREPANCY validator set 2: not adopted by the DAO's key ({owner.address}): signed "
        f"by {operator.address}, so it is the platform's word"
    ]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("threshold", "its adoption signature recovers to"),
        ("since", "its adoption signature recovers to"),
        ("hidden", "no validator set is published, but the DAO's key"),
    ],
)
def test_an_altered_or_hidden_adopted_set_is_reported(
    adopted: Published, owner: LocalAccount, tmp_path: Path, tamper: str, expected: str
) -> None:
    manifest = adopted.manifest
    published = manifest["validator_sets"][0]
    if tamper == "threshold":
        published["threshold"] = 1
    elif tamper == "since":
        published["since"] = instant(_moment(published["since"]) + timedelta(days=1))
    else:
        del manifest["validator_sets"]
        _operator_signs(manifest, manifest["contributions"][0])
    status, lines, _ = verify(
        adopted.republish(manifest), str(adopted.store), tmp_path, set_signers=[owner.address]
    )
    assert status == 1
    assert any(expected in line for line in discrepancies(lines)), lines


def test_only_the_daos_creator_or_admin_adopts_a_version(dao, owner: LocalAccount) -> None:  # type: ignore[no-untyped-def]
    validator_set = register(dao, validator_keys(2, tag="adopt-who"), 1)
    payload = validator_set_typed_data(validator_set=validator_set)
    stranger: LocalAccount = Account.create()
    with pytest.raises(ValidatorSetRefused, match="who is not a creator or admin of"):
        validator_set_adopt(validator_set=validator_set, signature=sign_adoption(payload, stranger))
    with pytest.raises(ValidatorSetRefused, match="is not an EIP-712 signature"):
        validator_set_adopt(validator_set=validator_set, signature="0x1234")
    # Signed over another version: recovers to someone else, who is no admin.
    other = {**payload, "message": {**payload["message"], "threshold": 2}}
    with pytest.raises(ValidatorSetRefused, match="who is not a creator or admin"):
        validator_set_adopt(validator_set=validator_set, signature=sign_adoption(other, owner))
    signature = sign_adoption(payload, owner)
    validator_set_adopt(validator_set=validator_set, signature=signature)
    validator_set_adopt(validator_set=validator_set, signature=signature)  # the same again
    assert AuditEvent.objects.filter(verb="validators.set_adopted").count() == 1
    admin: LocalAccount = Account.create()
    Membership.objects.create(dao=dao, user=UserFactory(address=admin.address), role=Role.ADMIN)
    with pytest.raises(ValidatorSetRefused, match=f"already adopted by {owner.address}"):
        validator_set_adopt(validator_set=validator_set, signature=sign_adoption(payload, admin))
    with pytest.raises(CommandError, match="has no validator set version 9"):
        call_command("validator_set_adoption", dao.slug, "9")
