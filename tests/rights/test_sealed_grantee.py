"""A grantee of a members-only (sealed) dataset, against the real js-ipfs node (issue #21
item 5's grantee half): the node holds ciphertext only; the grantee's download through
/ipfs/<cid> is the plaintext and hashes to what the proof signed; after a KEK rotation both
still hold; a query-only grantee gets nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from eth_account import Account

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from contributions.releases import release_publish
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from ipfs.backends.kubo import KuboBackend
from tests.factories import DatasetFactory
from tests.rights.world import World, build_world, content, grant_payload, post_json, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(180)]

OLD_KEK = "test1:" + hashlib.sha256(b"datadao-test-kek").hexdigest()
NEW_KEK = "rot3:" + hashlib.sha256(b"datadao-rights-test-kek-rotated").hexdigest()
SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
    ],
    "max_size": 1_000_000,
}
MARKER = b"777777,77.5,a"
DATA = b"id,value,kind\n" + MARKER + b"\n" + b"".join(b"%d,%d.5,b\n" % (i, i) for i in range(20))


@pytest.fixture
def world(ipfs_node) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        yield build_world()


def _sealed_contribution(w: World) -> Contribution:
    """Uploaded by a member to a members-only dataset, every stage run in this process."""
    dataset = DatasetFactory(
        dao=w.dao, kind="tabular", schema=SCHEMA, visibility=Visibility.MEMBERS
    )
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    response = signed_in(w.member).post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", DATA)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, runner in (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
        ("pin", stage_lane.run_pin),
    ):
        runner(services.contribution_begin(contribution_id=pk, stage=stage))
    contribution = Contribution.objects.select_related("dataset").get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    assert contribution.sealed_key
    return contribution


def test_a_grantee_reads_sealed_content_as_plaintext_that_matches_the_proof(
    world: World, kubo_backend: KuboBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    contribution = _sealed_contribution(world)
    dataset = contribution.dataset
    release = release_publish(dataset=dataset, actor=None)
    on_the_node = b"".join(kubo_backend.cat(contribution.cid))
    assert MARKER not in on_the_node

    grantee, querier = Account.create(), Account.create()
    admin = signed_in(world.admin)
    for account, scope in ((grantee, "download"), (querier, "query")):
        body = grant_payload(world.dao, world.admin, account.address, dataset, scope=scope)
        assert post_json(admin, f"/api/daos/{world.dao.slug}/grants", body).status_code == 201
    signed = admin.get(f"/api/contributions/{contribution.pk}/proof").json()
    proven = signed["typedData"]["message"]["contentSha256"][2:]

    reader = signed_in(grantee)

    def download() -> bytes:
        response = reader.get(f"/ipfs/{contribution.cid}")
        assert response.status_code == 200
        return content(response)

    assert download() == DATA
    assert hashlib.sha256(download()).hexdigest() == proven
    manifest = json.loads(content(reader.get(f"/ipfs/{release.cid}")))
    assert manifest["contributions"][0]["cid"] == contribution.cid
    assert signed_in(querier).get(f"/ipfs/{contribution.cid}").status_code == 404

    # Rotation re-wraps the data key; the grantee still reads the same plaintext.
    monkeypatch.setenv("DATA_KEK", f"{NEW_KEK},{OLD_KEK}")
    call_command("rotate_data_keys")
    contribution.refresh_from_db()
    assert contribution.sealed_key.startswith("v1.rot3.")
    assert b"".join(kubo_backend.cat(contribution.cid)) == on_the_node
    assert download() == DATA
    monkeypatch.setenv("DATA_KEK", NEW_KEK)
    assert hashlib.sha256(download()).hexdigest() == proven
