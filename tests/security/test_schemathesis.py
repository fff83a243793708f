"""schemathesis against the OpenAPI document of the JSON API (issue #9).

Every operation of ``GET /api/openapi.json`` (but that document itself, which schemathesis
leaves out when it loads from the app; tests/datadao/test_openapi.py covers it) is called
in-process through the WSGI app with generated inputs, three times over: anonymously, with a
DAO member's real API token, and with the same member's browser session (cookie + CSRF
token). Each response must not be a 5xx and must match the document: a documented status
code, the documented content type and a body that validates against the response schema.

Random ids would only ever find 404s, so a hook mixes the ids of real objects into the
generated path parameters: a dataset the member can upload to, a labeling dataset they manage
with a live hold on a task, a pinned and attested contribution in a published release, a bulk
import, a reward allocation and voucher, and objects of another DAO they may not see. A second
hook mixes acceptable bodies (a fresh CSV row, a known label) into the generated ones, so the
success answers are checked against their schemas too.

Bounded and deterministic: a fixed seed, derandomized generation, few examples per operation,
no example database, no schemathesis cache. The objects are built once per module inside a
transaction that is rolled back at the end (each test is a savepoint inside it), and every
file (uploads, imports, the IPFS store) goes to a temporary DATA_DIR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.tokens import api_token_create
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from labeling import services as labeling_services
from labeling.models import LabelTask
from rewards.models import Allocation, Epoch, EpochStatus, Voucher
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

# SCHEMATHESIS_EXAMPLES=500 for a longer hunt; the test command keeps it short.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
SEED = 20261129
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A fixed CSRF secret for the session runs: Django accepts the unmasked secret in the header.
CSRF_SECRET = "schemathesisCsrfSecret0123456789"

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "cache": {"enabled": False},
        # Positive data only: a negative path parameter (-1 for an id) never reaches a view,
        # it is Django's HTML 404 for an unknown URL. Strings, bodies and files are still
        # arbitrary within their schemas (NUL bytes included).
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "positive"},
        "phases": {"stateful": {"enabled": False}},
    }
)
SCHEMA = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

CSV_SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float"},
    ],
    "max_size": 64 * 1024,
}
LABELING_SCHEMA = {
    "labels": ["cat", "dog", "bird"],
    "overlap": 3,
    "gold_rate": 0.0,
    "item_kind": "text",
}


@dataclass
class World:
    """Real objects whose ids the hook mixes into generated path parameters."""

    token: str = ""
    member: Any = None
    ids: dict[str, list[Any]] = field(default_factory=dict)


WORLD = World()


def _pinned(client: Client, dataset: Any, data: bytes) -> Contribution:
    """Upload through the API, then run each pipeline stage here, as the worker would."""
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    stages = (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
        ("pin", stage_lane.run_pin),
    )
    for stage, run in stages:
        contribution = services.contribution_begin(contribution_id=pk, stage=stage)
        assert contribution is not None, stage
        run(contribution)
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


def _build_world(data_dir: Path) -> World:
    member, outsider = UserFactory(), UserFactory()
    member_client = Client()
    member_client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    outsider_client = Client()
    outsider_client.force_login(outsider, backend="django.contrib.auth.backends.ModelBackend")

    # A DAO the member contributes to, with a published release of a pinned contribution.
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    table = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    mine = _pinned(member_client, table, b"id,value\n1,1.5\n2,2.5\n")
    release = release_publish(dataset=table, actor=None)
    received = member_client.post(
        f"/api/datasets/{table.pk}/contributions",
        {"file": SimpleUploadedFile("e.csv", b"id,value\n3,3.5\n")},
    ).json()["id"]

    # Another DAO's members-only dataset and contribution: invisible to the member.
    other = DAOFactory()
    Membership.objects.create(dao=other, user=outsider, role=Role.CONTRIBUTOR)
    hidden = dataset_set_status(
        dataset=DatasetFactory(
            dao=other, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
        ),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    theirs = outsider_client.post(
        f"/api/datasets/{hidden.pk}/contributions",
        {"file": SimpleUploadedFile("f.csv", b"id,value\n9,9.5\n")},
    ).json()["id"]

    # A labeling dataset the member manages, with tasks, a live hold, an import and a run.
    ldao = DAOFactory()
    Membership.objects.create(dao=ldao, user=member, role=Role.ADMIN)
    labeling = dataset_set_status(
        dataset=DatasetFactory(dao=ldao, kind="labeling", schema=LABELING_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    LabelTask.objects.bulk_create(
        LabelTask(dataset=labeling, source_key=f"t{i}", kind="text", payload={"text": f"item {i}"})
        for i in range(30)
    )
    hold = labeling_services.task_next(dataset_id=labeling.pk, labeler=member)
    assert hold is not None
    source = data_dir / "import.csv"
    source.write_text("text\nan imported item\n")
    job = labeling_services.label_import_create(
        dataset_id=labeling.pk, actor=member, source=source, file_name="import.csv", fmt="csv"
    )
    labeling_services.consensus_run_request(dataset_id=labeling.pk, actor=member, method="mv")

    # A closed epoch with the member's allocation, and vouchers for them and someone else.
    epoch = Epoch.objects.create(
        dao=dao,
        number=1,
        status=EpochStatus.CLOSED,
        closed_at=timezone.now(),
        root="0x" + "ab" * 32,
        dump_cid="bafkreidump",
    )
    allocation = Allocation.objects.create(
        epoch=epoch, account=member.address, amount=5, tree_index=0
    )
    vouchers = [
        Voucher.objects.create(
            dao=dao,
            contributor=who.address,
            amount=7,
            nonce=nonce,
            deadline=2**40,
            dataset_id="0x" + "11" * 32,
            typed_data={"primaryType": "Claim", "message": {"amount": "7"}},
            signature="0x" + "ee" * 65,
            signer=UserFactory.build().address,
        )
        for nonce, who in enumerate((member, outsider))
    ]

    _, token = api_token_create(user=member, name="schemathesis")
    return World(
        token=token,
        member=member,
        ids={
            "upload:dataset_id": [table.pk, hidden.pk, labeling.pk],
            "labeling:dataset_id": [labeling.pk],
            "contribution_id": [mine.pk, received, theirs],
            "hold_id": [hold.pk],
            "import_id": [job.pk],
            "allocation_id": [allocation.pk],
            "voucher_id": [voucher.pk for voucher in vouchers],
            "cid": [release.cid],
            # A DAO the member belongs to (may leave), one they manage, one they are not in.
            "slug": [dao.slug, ldao.slug, other.slug],
        },
    )


@pytest.fixture(scope="module")
def objects(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """The objects, built once for the module in a transaction rolled back at its end."""
    data_dir = tmp_path_factory.mktemp("schemathesis-data")
    with (
        django_db_blocker.unblock(),
        override_settings(
            DATA_DIR=data_dir, IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=data_dir / "ipfs"
        ),
        transaction.atomic(),
    ):
        WORLD.__dict__.update(_build_world(data_dir).__dict__)
        yield WORLD
        transaction.set_rollback(True)
    WORLD.ids.clear()


@pytest.fixture
def world(objects: World) -> Iterator[World]:
    """The objects, for requests straight to the WSGI app. As Django's test client does, the
    handler must not run close_old_connections: it would close the connection that holds the
    transaction at each request's start and end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield objects
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@SCHEMA.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Mix real ids into the generated path parameters, so most requests reach past the
    lookup; the generated value stays a choice, so unknown ids are still tried."""
    path = context.operation.path
    choices: dict[str, Any] = {}
    for name, value in (path_parameters or {}).items():
        key = name
        if name == "dataset_id":
            key = (
                "labeling:dataset_id" if path.startswith("/api/labeling/") else "upload:dataset_id"
            )
        real = WORLD.ids.get(key, [])
        choices[name] = st.sampled_from([*real, value]) if real else st.just(value)
    return st.fixed_dictionaries(choices)


@SCHEMA.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """Mix acceptable content into generated bodies, so the success answers (201 upload,
    201 label) are reached and checked too, not only the refusals of random bytes."""
    path = context.operation.path
    if path == "/api/datasets/{dataset_id}/contributions" and isinstance(body, dict):
        # A new row each time, so the file is not always a duplicate (409) of the last one.
        csv = st.integers(min_value=0, max_value=10**9).map(
            lambda n: {**body, "file": f"id,value\n{n},1.5\n".encode()}
        )
        return st.one_of(st.just(body), csv)
    if path.endswith("/holds/{hold_id}/label") and isinstance(body, dict):
        named = st.sampled_from(LABELING_SCHEMA["labels"]).map(
            lambda label: {**body, "label": label}
        )
        return st.one_of(st.just(body), named)
    return st.just(body)


def _session_cookies(member: Any) -> dict[str, str]:
    """A fresh signed-in session per request: a generated POST /auth/logout ends one."""
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_SECRET}


@SCHEMA.parametrize()
@BOUNDED
def test_anonymous_requests_conform(case: Any, world: World) -> None:
    case.call_and_validate(checks=CHECKS)


@SCHEMA.parametrize()
@BOUNDED
def test_api_token_requests_conform(case: Any, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.token}"}
    case.call_and_validate(checks=CHECKS, headers=headers)


@SCHEMA.parametrize()
@BOUNDED
def test_session_requests_conform(case: Any, world: World) -> None:
    # A generated Authorization header is dropped: the API would use it instead of the session.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(
        checks=CHECKS,
        headers={"X-CSRFToken": CSRF_SECRET},
        cookies=_session_cookies(world.member),
    )
