"""The demo command is idempotent: run twice, same state."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from contributions.models import Contribution
from datadao.demo import DEMO_DAO_SLUG, demo_address
from datadao.models import DAO, AuditEvent, Dataset, DatasetStatus, Membership, User
from governance.demo import OPEN_TITLE, PASSED_TITLE
from governance.models import Proposal
from labeling.models import ConsensusRun, Label, LabelTask
from synthetic.models import SyntheticJob

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, object]:
    return {
        "users": sorted(User.objects.values_list("address", "display_name")),
        "daos": sorted(DAO.objects.values_list("slug", "name", "token_symbol", "chain_id")),
        "members": sorted(Membership.objects.values_list("user__address", "dao__slug", "role")),
        "datasets": sorted(
            Dataset.objects.values_list("slug", "kind", "status", "license", "visibility")
        ),
        "schemas": sorted(str(s) for s in Dataset.objects.values_list("schema", flat=True)),
        "audit": AuditEvent.objects.count(),
        "contributions": sorted(Contribution.objects.values_list("sha256", "contributor__address")),
        "label_tasks": LabelTask.objects.count(),
        "synthetic_jobs": SyntheticJob.objects.count(),
        "labels": Label.objects.count(),
    }


def test_demo_twice_gives_the_same_state(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo")
    first = _snapshot()
    call_command("demo")
    assert _snapshot() == first
    out = capsys.readouterr().out
    # 4 members plus the 7 simulated labelers and the 3 voters.
    # The five demo files and the wine table's two; the second run adds none.
    assert "Demo ready: 1 DAO, 14 members, 8 datasets, 7 contributions (7 new" in out
    assert "7 contributions (0 new" in out
    # The digits' 165 and 20 for each of the four other task types.
    assert "245 labeling tasks with" in out
    dao = DAO.objects.get(slug=DEMO_DAO_SLUG)
    assert set(dao.datasets.values_list("kind", flat=True)) == {"tabular", "files", "labeling"}
    job = SyntheticJob.objects.get(dataset__slug="wine-chemistry")
    # It learns from the wine rows the demo contributed (pinned by the worker), not a side file.
    assert job.status == "queued" and job.method == "gan" and not job.input_name
    assert Contribution.objects.filter(dataset=job.dataset).count() == 2
    assert set(dao.datasets.values_list("status", flat=True)) == {DatasetStatus.OPEN}
    # Governance: one proposal passed and executed (its change applied), one open.
    statuses = dict(Proposal.objects.filter(dao=dao).values_list("title", "status"))
    assert statuses == {PASSED_TITLE: "executed", OPEN_TITLE: "open"}
    passed = Proposal.objects.get(title=PASSED_TITLE)
    erin = Membership.objects.get(dao=dao, user__address=passed.change["address"])
    assert erin.role == "reviewer" and passed.cid
    assert passed.tally["result"] == "passed" and passed.tally["votes"] == 3


def test_demo_keystore_is_created_only_inside_the_data_folder(
    tmp_path, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    from contributions.demo import ensure_demo_validator_keystore
    from datadao.keys import load_signer

    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.delenv("VALIDATOR_KEY", raising=False)
    monkeypatch.setenv("VALIDATOR_PASSWORD", "demo-only")
    monkeypatch.setenv("VALIDATOR_KEYSTORE", str(tmp_path / "elsewhere.json"))
    assert ensure_demo_validator_keystore() is None
    assert not (tmp_path / "elsewhere.json").exists()
    inside = tmp_path / "data" / "demo-validator.json"
    monkeypatch.setenv("VALIDATOR_KEYSTORE", str(inside))
    assert ensure_demo_validator_keystore() == str(inside)
    assert ensure_demo_validator_keystore() is None  # never overwritten
    assert oct(inside.stat().st_mode & 0o777) == "0o600"
    assert load_signer("validator").address.startswith("0x")
    monkeypatch.setenv("VALIDATOR_PASSWORD", "wrong")
    with pytest.raises(Exception, match="cannot decrypt"):
        load_signer("validator")


def test_demo_labeling_has_gold_labels_and_a_queued_consensus() -> None:
    call_command("demo")
    dataset = Dataset.objects.get(slug="digit-labels")
    tasks = LabelTask.objects.filter(dataset=dataset)
    assert tasks.filter(is_gold=True).count() == 15
    assert tasks.filter(kind="image").count() == 165
    labels = Label.objects.filter(dataset=dataset)
    assert labels.count() > 400 and labels.filter(gold_correct__isnull=False).exists()
    # Every label is one of the ten digits, and a whole-dataset run waits for the worker.
    assert set(labels.values_list("choice", flat=True)) <= set(range(10))
    assert ConsensusRun.objects.filter(dataset=dataset, status="queued").count() == 1


def test_demo_sign_in_is_off_unless_enabled(client, settings) -> None:  # type: ignore[no-untyped-def]
    call_command("demo")
    settings.DEMO_SIGN_IN = False
    assert client.post("/auth/demo", {"member": "alice"}).status_code == 404
    settings.DEMO_SIGN_IN = True
    assert client.get("/").content.decode().count('name="member"') == 3
    bad = client.post("/auth/demo", {"member": "mallory"})
    assert bad.status_code == 400 and "no demo member" in bad.json()["detail"]
    response = client.post("/auth/demo", {"member": "alice"})
    assert response.status_code == 302 and response["Location"] == "/me/rewards"
    me = client.get("/auth/me").json()
    assert me["authenticated"] and me["address"] == demo_address("alice")
    assert client.get("/me/rewards").status_code == 200


def test_demo_sign_in_needs_debug() -> None:
    import importlib
    import os

    import config.settings as live

    old = os.environ.get("DEMO_SIGN_IN")
    os.environ["DEMO_SIGN_IN"] = "true"
    try:
        fresh = importlib.reload(live)
        assert fresh.DEBUG is False and fresh.DEMO_SIGN_IN is False
    finally:
        if old is None:
            os.environ.pop("DEMO_SIGN_IN")
        else:
            os.environ["DEMO_SIGN_IN"] = old
        importlib.reload(live)


def test_demo_has_one_labeling_dataset_of_each_task_type() -> None:
    from labeling.conf import labeling_settings

    call_command("demo")
    types = {}
    for dataset in Dataset.objects.filter(kind="labeling"):
        conf = labeling_settings(dataset.schema)
        types[conf.task_type] = dataset
        tasks = LabelTask.objects.filter(dataset=dataset)
        assert tasks.filter(is_gold=True).exists() and tasks.count() >= 20
        assert Label.objects.filter(dataset=dataset).count() > 40
        assert ConsensusRun.objects.filter(dataset=dataset, status="queued").count() == 1
    assert set(types) == {"classification", "boxes", "spans", "pairwise", "text"}
    boxes = Label.objects.filter(dataset=types["boxes"]).exclude(value=[]).first()
    assert {"x", "y", "w", "h", "label"} == set(boxes.value[0])
    assert set(Label.objects.filter(dataset=types["pairwise"]).values_list("value", flat=True)) <= {
        "left",
        "right",
        "tie",
    }
    assert LabelTask.objects.filter(dataset=types["text"], kind="image").count() == 20
    # The queued runs, as the worker would do them: the assistants come out in their order.
    from labeling import tasks as label_tasks

    for dataset in types.values():
        run = ConsensusRun.objects.get(dataset=dataset, status="queued")
        assert label_tasks.run_consensus(run.pk) == "done"
    run = ConsensusRun.objects.get(dataset=types["pairwise"], status="done")
    ranked = [c["id"] for c in run.metrics["candidates"]]
    assert ranked == ["assistant-a", "assistant-b", "assistant-c", "assistant-d"]


def test_demo_deploys_its_distributor_on_a_running_local_chain(
    chain_node, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    """What ``bin/run`` sets up when a development chain answers: the demo's DAO gets a
    distributor deployed on that node (verified against the build), beside its one passed
    and one open proposal."""
    from eth_account import Account

    from rewards.deploy import dao_distributor_verify
    from rewards.onchain import artifact
    from tests.chainnode import CHAIN_ID, DEV_KEYS

    chain_node.automine(True)
    settings.CHAIN_RPC_URLS = {CHAIN_ID: chain_node.url}
    settings.CHAIN_CONFIRMATIONS = {CHAIN_ID: 0}
    monkeypatch.setenv("DEPLOYER_KEY", DEV_KEYS[0])
    monkeypatch.setenv("REWARD_SIGNER_KEY", "0x" + "7d" * 32)  # test-only; guards nothing
    call_command("demo")
    dao = DAO.objects.get(slug=DEMO_DAO_SLUG)
    assert dao.chain_id == CHAIN_ID and dao.reward_contract_address
    w3 = chain_node.web3()
    dao_distributor_verify(w3, dao)  # this build, this DAO's id, the platform's signer
    distributor = w3.eth.contract(dao.reward_contract_address, abi=artifact.contract()["abi"])
    assert distributor.functions.signer().call() == Account.from_key("0x" + "7d" * 32).address
    statuses = dict(Proposal.objects.filter(dao=dao).values_list("title", "status"))
    assert statuses == {PASSED_TITLE: "executed", OPEN_TITLE: "open"}
    address = dao.reward_contract_address
    call_command("demo")  # a second run keeps the contract
    assert DAO.objects.get(pk=dao.pk).reward_contract_address == address
