"""The rewards ledger: idempotent credits, deterministic epoch close, vouchers, no floats."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, override_settings
from eth_account import Account

from contributions.models import Contribution, Status
from datadao.keys import load_signer
from ipfs.services import content_open_verified
from rewards import services
from rewards.eip712 import recover_typed_data
from rewards.merkle import StandardMerkleTree, verify
from rewards.models import Allocation, Epoch, RewardEntry, RewardPolicy, Voucher
from rewards.tree_store import allocation_proof
from tests.factories import DatasetFactory, UserFactory

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
CONTRACT = "0x" + "ab" * 20


@pytest.fixture(autouse=True)
def _reward_signer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _pinned(dataset, user, score: int, n: int) -> Contribution:  # type: ignore[no-untyped-def]
    return Contribution.objects.create(
        dataset=dataset,
        contributor=user,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"s{n}",
        status=Status.PINNED,
        cid=f"bafkreitest{n}",
        score=score,
    )


def _policy(dataset, per: int, budget: int | None = None) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=dataset, per_contribution=per, epoch_budget=budget)


@pytest.mark.django_db
def test_credit_is_scaled_by_score_and_idempotent() -> None:
    dataset = DatasetFactory()
    _policy(dataset, 10**18)
    contribution = _pinned(dataset, UserFactory(), 7500, 1)
    first = services.reward_credit_contribution(contribution=contribution)
    again = services.reward_credit_contribution(contribution=contribution)
    assert first.pk == again.pk and RewardEntry.objects.count() == 1
    assert int(first.amount) == 75 * 10**16


@pytest.mark.django_db
def test_epoch_close_builds_a_verifiable_signed_tree_and_is_idempotent() -> None:
    dataset = DatasetFactory()
    _policy(dataset, 1000)
    alice, bob = UserFactory(), UserFactory()
    for i, (user, score) in enumerate([(alice, 10000), (bob, 5000), (alice, 2000)]):
        services.reward_credit_contribution(contribution=_pinned(dataset, user, score, i))
    simulated = services.epoch_simulate(dao=dataset.dao)
    assert simulated == {alice.address: 1200, bob.address: 500}
    epoch = services.epoch_close(dao=dataset.dao, actor=None)
    assert epoch.status == "closed" and int(epoch.total) == 1700
    for allocation in Allocation.objects.filter(epoch=epoch):
        assert simulated[allocation.account] == int(allocation.amount)
        proof = allocation_proof(allocation)
        assert verify(epoch.root, allocation.account, int(allocation.amount), proof)
    # The pinned dump is OpenZeppelin's standard-v1 (keys sorted) and holds the signed tree.
    with content_open_verified(cid=epoch.dump_cid) as pinned:
        dump = json.load(pinned)
    assert StandardMerkleTree.load(dump).root == epoch.root
    stored = b"".join(bytes(c.nodes) for c in epoch.tree_chunks.order_by("index"))
    assert stored == StandardMerkleTree.load(dump).nodes
    signer = Account.from_key(REWARD_KEY).address
    assert recover_typed_data(epoch.root_typed_data, epoch.root_signature) == signer
    assert epoch.signer == signer and epoch.dump_cid
    # Closing again: the same epoch, byte for byte; a new open epoch exists for new credits.
    before = (epoch.root, epoch.root_signature, epoch.dump_cid)
    again = Epoch.objects.get(pk=epoch.pk)
    assert (again.root, again.root_signature, again.dump_cid) == before
    assert Epoch.objects.filter(dao=dataset.dao, status="open", number=2).exists()
    with pytest.raises(services.RewardsError, match="no reward entries"):
        services.epoch_close(dao=dataset.dao, actor=None)


@pytest.mark.django_db
def test_budget_cap_scales_pro_rata_without_exceeding_it() -> None:
    dataset = DatasetFactory()
    _policy(dataset, 1000, budget=999)
    users = [UserFactory() for _ in range(3)]
    for i, user in enumerate(users):
        services.reward_credit_contribution(contribution=_pinned(dataset, user, 10000, i))
    epoch = services.epoch_close(dao=dataset.dao, actor=None)
    assert epoch.budget_scaled and int(epoch.total) <= 999
    assert {int(a.amount) for a in epoch.allocations.all()} == {333}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closers_produce_one_closed_epoch() -> None:
    dataset = DatasetFactory()
    _policy(dataset, 1000)
    for i in range(5):
        services.reward_credit_contribution(contribution=_pinned(dataset, UserFactory(), 9000, i))
    results: list[object] = []
    barrier = threading.Barrier(2)

    def close() -> None:
        barrier.wait()
        try:
            results.append(services.epoch_close(dao=dataset.dao, actor=None, number=1).pk)
        except Exception as exc:  # collected, asserted below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1], results
    assert Epoch.objects.filter(dao=dataset.dao, status="closed").count() == 1
    assert Allocation.objects.count() == 5


@pytest.mark.django_db
def test_vouchers_take_consecutive_nonces_and_recover_to_the_signer() -> None:
    dataset = DatasetFactory()
    dao = dataset.dao
    with pytest.raises(services.RewardsError, match="no reward contract address"):
        services.voucher_issue(
            dao=dao,
            contributor=UserFactory().address,
            amount=5,
            deadline=2**40,
            dataset_id="0x" + "00" * 32,
            actor=None,
        )
    dao.reward_contract_address = Account.create().address
    dao.save()
    who = UserFactory().address
    first, second = (
        services.voucher_issue(
            dao=dao,
            contributor=who,
            amount=amount,
            deadline=2**40,
            dataset_id="0x" + "11" * 32,
            actor=None,
        )
        for amount in (5, 7)
    )
    assert (int(first.nonce), int(second.nonce)) == (0, 1)
    assert second.typed_data["message"]["daoId"] == dao.onchain_id
    assert (
        recover_typed_data(second.typed_data, second.signature)
        == Account.from_key(REWARD_KEY).address
    )
    with pytest.raises(services.RewardsError, match="whole number"):
        services.voucher_issue(
            dao=dao,
            contributor=who,
            amount=1.5,
            deadline=2**40,  # type: ignore[arg-type]
            dataset_id="0x" + "11" * 32,
            actor=None,
        )
    assert Voucher.objects.count() == 2


@pytest.mark.django_db
def test_amounts_are_numeric_78_0_in_the_database_never_floats() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name, data_type, numeric_precision, numeric_scale
            FROM information_schema.columns
            WHERE table_name LIKE 'rewards_%%'
            """
        )
        columns = cursor.fetchall()
    assert not [c for c in columns if c[2] in ("real", "double precision")]
    money = {(t, c) for t, c, kind, p, s in columns if kind == "numeric"}
    assert ("rewards_rewardentry", "amount") in money and ("rewards_allocation", "amount") in money
    assert all(p == 78 and s == 0 for _, _, kind, p, s in columns if kind == "numeric")


@pytest.mark.django_db
def test_claim_downloads_are_for_the_owner_only() -> None:
    dataset = DatasetFactory()
    _policy(dataset, 1000)
    owner = UserFactory()
    services.reward_credit_contribution(contribution=_pinned(dataset, owner, 10000, 1))
    epoch = services.epoch_close(dao=dataset.dao, actor=None)
    allocation = epoch.allocations.get()
    client = Client()
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(f"/api/rewards/allocations/{allocation.pk}")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    body = response.json()
    assert body["amount"] == "1000" and verify(body["root"], owner.address, 1000, body["proof"])
    # The DAO's id, to check the contract's daoId() against, and the one the root is signed for.
    assert body["daoId"] == dataset.dao.onchain_id == epoch.root_typed_data["message"]["daoId"]
    page = client.get("/me/rewards").content.decode()
    assert "Copy" in page and str(allocation.pk) in page
    stranger = Client()
    stranger.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    refused = stranger.get(f"/api/rewards/allocations/{allocation.pk}")
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"


@pytest.mark.django_db
def test_keys_never_reach_logs_or_error_messages(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "0x" + "7" * 64
    assert load_signer("rewards").address  # the fixture key works
    monkeypatch.setenv("REWARD_SIGNER_KEY", secret[:-2] + "zz")  # malformed: must not be echoed
    dataset = DatasetFactory()
    _policy(dataset, 1000)
    services.reward_credit_contribution(contribution=_pinned(dataset, UserFactory(), 10000, 1))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as excinfo:
        services.epoch_close(dao=dataset.dao, actor=None)
    assert "REWARD_SIGNER_KEY is not a valid private key" in str(excinfo.value)
    assert secret[2:-2] not in str(excinfo.value) and secret[2:-2] not in caplog.text
    assert excinfo.value.__suppress_context__  # the parse error (which may quote it) is hidden
    assert Epoch.objects.filter(status="closed").count() == 0  # nothing half-done
    # The console page that reports the failure does not show the key either.
    client = Client()
    client.force_login(dataset.dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    open_epoch = services.epoch_current(dao=dataset.dao)
    response = client.post(
        "/admin/rewards/epoch/",
        {"action": "close_epochs", "_selected_action": [open_epoch.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "REWARD_SIGNER_KEY is not a valid private key" in page
    assert secret[2:-2] not in page


@pytest.mark.django_db(transaction=True)
def test_two_processes_closing_the_same_epoch_produce_one_closed_epoch(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.fixtures_celery import ROOT, test_database_url

    dataset = DatasetFactory()
    _policy(dataset, 1000)
    for i in range(4):
        services.reward_credit_contribution(contribution=_pinned(dataset, UserFactory(), 8000, i))
    script = (
        "import django; django.setup();"
        "from datadao.models import DAO; from rewards.services import epoch_close;"
        f"e = epoch_close(dao=DAO.objects.get(pk={dataset.dao_id}), actor=None, number=1);"
        "print(e.pk, e.root, e.root_signature)"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "DATA_DIR": str(tmp_path / "data"),
        "REWARD_SIGNER_KEY": REWARD_KEY,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    assert outputs[0][0] == outputs[1][0]  # same epoch, same root, same signature
    assert Epoch.objects.filter(dao=dataset.dao, status="closed").count() == 1
    assert Allocation.objects.count() == 4


@pytest.mark.django_db
def test_scheduled_close_closes_only_due_epochs() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from rewards.tasks import close_due_epochs

    due, manual = DatasetFactory(), DatasetFactory()
    due.dao.epoch_days = 7
    due.dao.save()
    for i, dataset in enumerate((due, manual)):
        _policy(dataset, 1000)
        services.reward_credit_contribution(contribution=_pinned(dataset, UserFactory(), 9000, i))
    assert close_due_epochs() == []  # opened just now: not due yet
    Epoch.objects.update(opened_at=timezone.now() - timedelta(days=8))
    closed = close_due_epochs()
    assert [Epoch.objects.get(pk=pk).dao for pk in closed] == [due.dao]
    assert close_due_epochs() == []  # the new open epoch is fresh and empty
    assert Epoch.objects.get(dao=manual.dao).status == "open"
