"""Pins that survive losing a node: replicas on two real js-ipfs nodes, on a Pinning Service
API server of our own (tests/psaserver.py, a separate process), and on the embedded store.

Each test kills or wipes a real process's data and checks that the audit finds the copy
missing by retrieving blocks (not by asking), refills it from a whole copy, and that every
byte is then retrievable and hash-verified from every copy.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client, override_settings

from datadao.services import dao_create, dao_update
from ipfs.backends.embedded import EmbeddedBackend
from ipfs.backends.kubo import KuboBackend
from ipfs.checks import replicas_configured
from ipfs.conf import get_backend, get_targets
from ipfs.models import Pin, PinAuditRun, PinReplica, PinStatus, ReplicaStatus
from ipfs.replication import pin_replicate, pin_unpin_everywhere, pins_short_of_replicas
from ipfs.services import content_add, pin_audit_run
from ipfs.targets import OK, KuboTarget, parse_spec, parse_specs
from ipfs.tasks import replicate_pin
from ipfs.unixfs import cid_of_bytes
from tests.factories import DAOFactory, UserFactory
from tests.fixtures_celery import wait_for
from tests.fixtures_ipfs import KUBO_TEST_TIMEOUT_S
from tests.ipfsnode import IpfsNode
from tests.psaserver import PsaServer

pytestmark = pytest.mark.django_db

TIMEOUT_S = 5


@pytest.fixture(scope="module")
def _node_pair() -> Iterator[tuple[IpfsNode, IpfsNode]]:
    nodes = [IpfsNode(), IpfsNode()]
    try:
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.close()


@pytest.fixture
def two_nodes(_node_pair: tuple[IpfsNode, IpfsNode]) -> tuple[IpfsNode, IpfsNode]:
    """Two js-ipfs daemons, each with its repo and ports, shared by this module's tests: a
    test may stop or wipe one, and finds both running. Every test adds content of its own,
    and the audit only looks at the pins the test's database holds."""
    for node in _node_pair:
        node.start()
    return _node_pair


@pytest.fixture
def psa_server(fresh_ipfs_node: IpfsNode, monkeypatch: pytest.MonkeyPatch) -> Iterator[PsaServer]:
    """The test pinning service, fetching from ``fresh_ipfs_node``; its token in the
    environment as the operator would set it."""
    server = PsaServer([fresh_ipfs_node.api_url])
    server.start()
    monkeypatch.setenv("IPFS_REPLICA_PSA_TOKEN", server.token)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def replicated(primary: IpfsNode, replicas: list[str]) -> Iterator[None]:
    with override_settings(
        IPFS_BACKEND="kubo",
        IPFS_API_URL=primary.api_url,
        IPFS_TIMEOUT_SECONDS=TIMEOUT_S,
        IPFS_REPLICAS=replicas,
    ):
        yield


def _node(node: IpfsNode) -> KuboBackend:
    return KuboBackend(node.api_url, timeout=KUBO_TEST_TIMEOUT_S)


def _holds(node: IpfsNode, cid: str, data: bytes) -> bool:
    """The node has ``cid`` pinned, every block retrievable and hashing to its CID, and the
    file's bytes are ``data`` (whose CID, recomputed here, is ``cid``)."""
    backend = _node(node)
    whole = KuboTarget("check", backend).check(cid).state == OK
    return whole and b"".join(backend.cat(cid)) == data and cid_of_bytes(data) == cid


def _files() -> dict[str, bytes]:
    # One block, several blocks under a root (600 KB at 256 KiB chunks), and a near-empty one.
    return {"small": os.urandom(100), "large": os.urandom(600_000), "tiny": os.urandom(1)}


def _add_all(files: dict[str, bytes], replication: int) -> dict[str, Pin]:
    return {
        name: content_add(stream=io.BytesIO(data), label=name, replication=replication)
        for name, data in files.items()
    }


# --- two js-ipfs nodes ---------------------------------------------------------------------


@pytest.mark.parametrize("lost", ["primary", "replica"])
def test_a_wiped_node_is_refilled_from_the_other_and_nothing_is_lost(
    two_nodes: tuple[IpfsNode, IpfsNode], lost: str
) -> None:
    a, b = two_nodes
    files = _files()
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        pins = _add_all(files, replication=2)
        for pin in pins.values():
            result = replicate_pin.apply(args=(pin.cid, 2)).get()
            assert result["made"] == ["b"], result
        for name, pin in pins.items():
            assert _holds(a, pin.cid, files[name]) and _holds(b, pin.cid, files[name])
        assert set(PinReplica.objects.values_list("target", "status")) == {("b", "ok")}

        node = a if lost == "primary" else b
        node.wipe()  # killed, and its repo deleted
        node.start()  # a new, empty node on the same ports
        assert not any(_node(node).is_pinned(pin.cid) for pin in pins.values())

        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired, run.unreachable) == (3, 3, 3, False)
        for name, pin in pins.items():
            assert _holds(a, pin.cid, files[name]), name
            assert _holds(b, pin.cid, files[name]), name
        assert set(Pin.objects.values_list("status", flat=True)) == {PinStatus.OK}
        rows = PinReplica.objects.all()
        assert {(r.status, r.problem) for r in rows} == {(ReplicaStatus.OK, "")}
        assert all(r.last_checked_at for r in rows)

        again = pin_audit_run(sample_size=10)
        assert (again.checked, again.missing, again.repaired) == (3, 0, 0)


def test_replicate_pin_twice_makes_each_replica_once(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_nodes
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        pin = content_add(stream=io.BytesIO(b"copy me once"), label="x", replication=2)
        first = replicate_pin.apply(args=(pin.cid, 2)).get()
        second = replicate_pin.apply(args=(pin.cid, 2)).get()
        assert first["made"] == ["b"] and second == {
            "made": [],
            "pinning": [],
            "failed": {},
            "unavailable": [],
        }
        assert PinReplica.objects.filter(pin=pin).count() == 1
        assert _holds(b, pin.cid, b"copy me once")


def test_a_node_down_is_an_outage_not_a_loss(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_nodes
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        pin = content_add(stream=io.BytesIO(b"still there"), label="x", replication=2)
        pin_replicate(cid=pin.cid, replication=2)
        b.stop()
        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired, run.unreachable) == (1, 0, 0, True)
        replica = PinReplica.objects.get(pin=pin)
        assert replica.status == ReplicaStatus.OK and replica.last_checked_at is None
        assert Pin.objects.get(pk=pin.pk).status == PinStatus.OK  # the backend's copy checked
        # Not made while its target is down: the task is told to retry, the row says why.
        other = content_add(stream=io.BytesIO(b"made later"), label="y", replication=2)
        result = pin_replicate(cid=other.cid, replication=2)
        assert result["unavailable"] == ["b"]
        row = PinReplica.objects.get(pin=other)
        assert row.status == ReplicaStatus.MISSING and "could not be made" in row.problem
        b.start()
        assert pin_replicate(cid=other.cid, replication=2)["made"] == ["b"]
        assert _holds(b, other.cid, b"made later")


def test_unpinning_removes_every_copy(two_nodes) -> None:  # type: ignore[no-untyped-def]
    a, b = two_nodes
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        pin = content_add(stream=io.BytesIO(b"withdrawn later"), label="x", replication=2)
        pin_replicate(cid=pin.cid, replication=2)
        pin_unpin_everywhere(cid=pin.cid)
        assert not _node(a).is_pinned(pin.cid) and not _node(b).is_pinned(pin.cid)
        pin_unpin_everywhere(cid=pin.cid)  # idempotent: not pinned is success


def test_the_sweeper_finds_pins_whose_replication_was_never_started(two_nodes) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    a, b = two_nodes
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        lost = content_add(stream=io.BytesIO(b"message lost"), label="x", replication=2)
        done = content_add(stream=io.BytesIO(b"replicated"), label="y", replication=2)
        single = content_add(stream=io.BytesIO(b"one copy"), label="z", replication=1)
        pin_replicate(cid=done.cid, replication=2)
        later = timezone.now() + timedelta(seconds=1)
        assert pins_short_of_replicas(later, 100) == [lost.pk]
        assert single.pk not in pins_short_of_replicas(later, 100)


# --- the embedded store as the backend, a node as replica ----------------------------------


def test_a_corrupt_block_in_the_embedded_store_is_refilled_from_the_node(
    tmp_path: Path, ipfs_node: IpfsNode, client: Client
) -> None:
    data = os.urandom(600_000)
    with override_settings(
        IPFS_BACKEND="embedded",
        IPFS_EMBEDDED_ROOT=tmp_path / "ipfs",
        IPFS_TIMEOUT_SECONDS=TIMEOUT_S,
        IPFS_REPLICAS=[f"node=kubo+{ipfs_node.api_url}"],
    ):
        pin = content_add(stream=io.BytesIO(data), label="big", replication=2)
        assert pin_replicate(cid=pin.cid, replication=2)["made"] == ["node"]
        store = get_backend()
        assert isinstance(store, EmbeddedBackend)
        leaf = max(
            (p for p in (tmp_path / "ipfs" / "blocks").rglob("*") if p.is_file()),
            key=lambda p: p.stat().st_size,
        )
        leaf.write_bytes(b"x" + leaf.read_bytes()[1:])  # same length: put_block would keep it
        assert client.get(f"/ipfs/{pin.cid}").status_code == 502
        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired) == (1, 1, 1)
        assert store.verify(pin.cid) == []
        response = client.get(f"/ipfs/{pin.cid}")
        assert response.status_code == 200 and b"".join(response.streaming_content) == data


# --- a Pinning Service API provider (our own server, a separate process) --------------------


def test_a_pinning_service_replica_is_made_checked_by_its_blocks_lost_and_refilled(
    fresh_ipfs_node: IpfsNode, psa_server: PsaServer
) -> None:
    a = fresh_ipfs_node
    data = os.urandom(600_000)
    with replicated(a, [psa_server.spec("psa")]):
        pin = content_add(stream=io.BytesIO(data), label="contribution:1", replication=2)
        result = pin_replicate(cid=pin.cid, replication=2)
        assert result["pinning"] + result["made"] == ["psa"], result
        wait_for(lambda: psa_server.statuses(pin.cid) == ["pinned"], what="the provider to pin")

        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired) == (1, 0, 0)
        replica = PinReplica.objects.get(pin=pin)
        assert (replica.target, replica.status) == ("psa", ReplicaStatus.OK)

        # The provider loses everything (its pin requests and its blocks).
        psa_server.wipe()
        psa_server.start()
        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired) == (1, 1, 1)
        replica.refresh_from_db()
        assert replica.status in (ReplicaStatus.PINNING, ReplicaStatus.OK)
        wait_for(lambda: psa_server.statuses(pin.cid) == ["pinned"], what="the provider to pin")
        run = pin_audit_run(sample_size=10)
        replica.refresh_from_db()
        assert run.missing == 0 and replica.status == ReplicaStatus.OK

        # The backend's node loses everything: refilled from the provider's gateway.
        a.wipe()
        a.start()
        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing, run.repaired) == (1, 1, 1)
        assert _holds(a, pin.cid, data)

        pin_unpin_everywhere(cid=pin.cid)
        assert psa_server.statuses(pin.cid) == []
        assert not _node(a).is_pinned(pin.cid)


def test_a_pinning_service_that_refuses_the_token_is_not_a_loss(
    fresh_ipfs_node: IpfsNode, psa_server: PsaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with replicated(fresh_ipfs_node, [psa_server.spec("psa")]):
        pin = content_add(stream=io.BytesIO(b"kept"), label="x", replication=2)
        pin_replicate(cid=pin.cid, replication=2)
        wait_for(lambda: psa_server.statuses(pin.cid) == ["pinned"], what="the provider to pin")
    monkeypatch.setenv("IPFS_REPLICA_PSA_TOKEN", "revoked")
    with replicated(fresh_ipfs_node, [psa_server.spec("psa")]):
        run = pin_audit_run(sample_size=10)
    assert (run.checked, run.missing, run.unreachable) == (1, 0, True)
    assert PinReplica.objects.get(pin=pin).status != ReplicaStatus.MISSING


# --- refusals -----------------------------------------------------------------------------------


def test_a_dao_cannot_ask_for_more_copies_than_there_are_targets(settings) -> None:  # type: ignore[no-untyped-def]
    settings.IPFS_REPLICAS = ["b=kubo+http://127.0.0.1:5999"]
    creator = UserFactory()
    with pytest.raises(ValidationError) as refused:
        dao_create(
            creator=creator, name="Three", slug="three", token_symbol="T", replication_factor=3
        )
    assert "replication factor of 3 needs 3 places" in str(refused.value)
    assert "this platform has 2" in str(refused.value)
    dao = dao_create(
        creator=creator, name="Two", slug="two", token_symbol="T", replication_factor=2
    )
    assert dao.replication_factor == 2
    with pytest.raises(ValidationError, match="at least one copy"):
        dao_update(dao=dao, actor=creator, replication_factor=0)
    settings.IPFS_REPLICAS = []
    with pytest.raises(ValidationError, match="this platform has 1"):
        dao_update(dao=DAOFactory(), actor=creator, replication_factor=2)


def test_a_daos_factor_reaches_its_pins(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from contributions.services.sealed_pins import content_add_for
    from tests.factories import DatasetFactory

    settings.IPFS_EMBEDDED_ROOT = tmp_path / "ipfs"
    settings.IPFS_REPLICAS = ["b=kubo+http://127.0.0.1:5999"]
    dao = DAOFactory(replication_factor=2)
    dataset = DatasetFactory(dao=dao)
    pin = content_add_for(
        dataset=dataset, stream=io.BytesIO(b"a DAO's file"), label="x", content_type="text/plain"
    )
    assert pin.replication == 2


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["ftp://host"], "needs a name"),
        (["b=ftp://host"], "is not embedded, kubo+<RPC URL>"),
        (["b=kubo+ftp://host"], "is not an http(s) URL"),
        (["B=kubo+http://host:5001"], "lowercase letters"),
        (["b=kubo+http://h:1", "b=kubo+http://h:2"], "used twice"),
        (["kubo=kubo+http://h:1"], "used twice"),
        (["p=psa+https://api.example/psa"], "needs its gateway"),
        (["p=psa+https://api.example/psa#gateway=https://gw.example"], "IPFS_REPLICA_P_TOKEN"),
    ],
)
def test_a_bad_replica_configuration_is_refused_with_what_to_write(
    entries: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPFS_REPLICA_P_TOKEN", raising=False)
    with override_settings(
        IPFS_BACKEND="kubo", IPFS_API_URL="http://127.0.0.1:1", IPFS_REPLICAS=entries
    ):
        with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
            get_targets()
        errors = replicas_configured()
        assert [e.id for e in errors] == ["ipfs.E001"] and message in errors[0].msg


def test_replica_entries_parse() -> None:
    assert parse_spec("embedded").kind == "embedded"
    spec = parse_spec("pinata=psa+https://api.pinata.cloud/psa#gateway=https://gw.pinata.cloud")
    assert (spec.name, spec.kind, spec.url, spec.gateway) == (
        "pinata",
        "psa",
        "https://api.pinata.cloud/psa",
        "https://gw.pinata.cloud",
    )
    assert spec.token_variable == "IPFS_REPLICA_PINATA_TOKEN"
    assert parse_specs(["embedded", " b=kubo+http://h:5001 ", ""], primary="kubo")[1].url == (
        "http://h:5001"
    )


# --- the console ------------------------------------------------------------------------------


def test_the_pin_list_shows_copies_per_cid(two_nodes, client_for) -> None:  # type: ignore[no-untyped-def]
    a, b = two_nodes
    with replicated(a, [f"b=kubo+{b.api_url}"]):
        pin = content_add(stream=io.BytesIO(b"shown"), label="x", replication=2)
        pin_replicate(cid=pin.cid, replication=2)
        pin_audit_run(sample_size=10)
    staff = client_for(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get("/admin/ipfs/pin/").content.decode()
    assert "2/2 · kubo ok, b ok" in page
    detail = staff.get(f"/admin/ipfs/pin/{pin.pk}/change/").content.decode()
    assert "Replicas beyond the backend" in detail and ">b<" in detail
    assert PinAuditRun.objects.exists()


# --- the pipeline, with a real worker ---------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_contribution_is_pinned_at_its_first_copy_and_replicated_by_the_worker(
    two_nodes: tuple[IpfsNode, IpfsNode], tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from contributions.models import Contribution, Status
    from datadao.models import DatasetStatus, Membership, Role
    from datadao.services import dataset_set_status
    from tests.contributions.conftest import CSV_SCHEMA, good_csv
    from tests.factories import DatasetFactory
    from tests.fixtures_celery import start_worker

    a, b = two_nodes
    replicas = f"b=kubo+{b.api_url}"
    env = {"IPFS_BACKEND": "kubo", "IPFS_API_URL": a.api_url, "IPFS_REPLICAS": replicas}
    with replicated(a, [replicas]):
        member = UserFactory()
        dao = DAOFactory(replication_factor=2)  # refused unless a replica target is configured
        Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
        dataset = DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA)
        dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
        client = Client()
        client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
        worker = start_worker(tmp_path, extra_env=env)
        try:
            data = good_csv(7, start=31337)
            response = client.post(
                f"/api/datasets/{dataset.pk}/contributions",
                {"file": SimpleUploadedFile("d.csv", data)},
            )
            assert response.status_code == 201, response.content
            pk = response.json()["id"]
            wait_for(
                lambda: Contribution.objects.filter(pk=pk, status=Status.PINNED).exists(),
                timeout=60,
                what="the contribution to be pinned",
                worker=worker,
            )
            cid = Contribution.objects.get(pk=pk).cid
            assert Pin.objects.get(cid=cid).replication == 2
            wait_for(
                lambda: PinReplica.objects.filter(
                    pin__cid=cid, target="b", status=ReplicaStatus.OK
                ).exists(),
                timeout=60,
                what="the replica on b",
                worker=worker,
            )
        finally:
            worker.stop()
    # What was pinned (the file, or its ciphertext for a members-only dataset), whole on both.
    pinned = b"".join(_node(a).cat(cid))
    assert _holds(a, cid, pinned) and _holds(b, cid, pinned)
