"""The SDK against the running platform: a live server (pytest-django's ``live_server``), a real
Celery worker where contributions must move, the embedded IPFS store they are pinned to. No
answer is recorded in advance; the only thing between client and server, where a test needs a
network fault, is a real proxy (``faultproxy``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client as DjangoClient

from contributions.models import Contribution, Status
from contributions.releases import release_publish
from datadao.models import JoinPolicy, Membership, Role
from datadao_client import (
    ApiError,
    Client,
    RetryPolicy,
    VerificationError,
    WaitTimeout,
    keystore_open,
)
from labeling.models import Label
from rewards import services as rewards
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.contributions.test_releases import pinned as pin_here
from tests.factories import DAOFactory, UserFactory
from tests.fixtures_celery import WorkerProcess
from tests.labeling.conftest import make_dataset, make_tasks
from tests.sdk.conftest import PASSWORD
from tests.sdk.faultproxy import Plan, fault_proxy

live = pytest.mark.django_db(transaction=True)
BAD_CSV = b"id,value,kind\n1,5.5,a\n2,500,c\n"  # 500 over the maximum, 'c' not allowed
FAST = RetryPolicy(attempts=3, backoff=0.05, max_wait=2.0)
REWARD_KEY = "0x" + "6" * 63 + "1"  # test-only epoch-root signer; guards nothing


def signed_in(url: str, keystore: tuple[Path, str]) -> Client:
    client = Client(url, retry=FAST)
    client.sign_in(keystore_open(path=keystore[0], password=PASSWORD))
    return client


@live
@pytest.mark.worker
def test_a_wallet_joins_uploads_waits_downloads_the_release_and_reads_its_claim(
    live_server, keystore, tabular, celery_worker: WorkerProcess, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    RewardPolicy.objects.create(dataset=tabular, per_contribution=1000)
    session = signed_in(live_server.url, keystore)
    me = session.me()
    assert me["authenticated"] and me["address"] == keystore[1]
    membership = session.join(tabular.dao.slug)
    assert (membership["address"], membership["role"]) == (keystore[1], "contributor")

    # A script's token: made with the session, used without it.
    made = session.create_token("sdk-bot", scopes=["upload", "read"])
    bot = Client(live_server.url, token=made["token"], account=session.account, retry=FAST)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(good_csv(20))
    bad.write_bytes(BAD_CSV)
    seen: list[tuple[int, int]] = []
    upload = bot.upload(tabular.pk, good, progress=lambda sent, size: seen.append((sent, size)))
    assert (upload.attempts, upload.recovered, upload.existing) == (1, False, False)
    assert upload.contribution["signed"] and upload.contribution["status"] == "received"
    assert seen[-1] == (good.stat().st_size, good.stat().st_size)
    rejected_id = bot.upload(tabular.pk, bad).contribution["id"]

    statuses: list[str] = []
    pinned = bot.wait_for_contribution(
        upload.contribution["id"],
        timeout=180,
        poll=0.2,
        on_change=lambda c: statuses.append(c["status"]),
    )
    assert pinned["status"] == "pinned" and pinned["cid"], celery_worker.log()[-3000:]
    assert statuses[-1] == "pinned" and len(statuses) == len(set(statuses))
    rejected = bot.wait_for_contribution(rejected_id, timeout=180, poll=0.2)
    assert rejected["status"] == "rejected" and rejected["reasons"]
    assert bot.contribution_proof(pinned["id"])["signer"]
    listed = bot.contributions(dataset=tabular.pk)
    assert listed["count"] == 2 and {c["id"] for c in listed["results"]} == {
        pinned["id"],
        rejected_id,
    }

    # The release, verified by CID here.
    release = release_publish(dataset=tabular, actor=None)
    manifest = bot.release_manifest(release.cid)
    assert [entry["cid"] for entry in manifest["contributions"]] == [pinned["cid"]]
    downloaded = bot.download_release(release.cid, tmp_path / "release")
    assert downloaded.manifest == manifest and release.cid in downloaded.roots
    [file] = [f for f in downloaded.files if f.cid == pinned["cid"]]
    assert file.path is not None and file.path.read_bytes() == good.read_bytes()
    table = bot.download_release_table(release.cid, tmp_path / "rows.csv")
    assert table.read_text().splitlines()[0].startswith("id,value,kind")

    # Rewards: the pinned file was credited; closing the epoch makes the claim.
    epoch = rewards.epoch_close(dao=tabular.dao, actor=None)
    claim = session.claim(epoch.allocations.get().pk)
    assert (claim["account"], claim["amount"], claim["epoch"]) == (
        keystore[1],
        "1000",
        epoch.number,
    )
    assert session.royalties() == []
    with pytest.raises(ApiError) as refused:
        bot.claim(epoch.allocations.get().pk)  # a token is refused: rewards are session only
    assert refused.value.status == 403 and refused.value.code == "token_not_accepted"

    # Tokens are listed without their secret and stop working once revoked.
    [token] = session.tokens()["results"]
    assert token["id"] == made["id"] and "token" not in token
    session.revoke_token(made["id"])
    with pytest.raises(ApiError) as revoked:
        bot.contributions()
    assert revoked.value.status == 401
    session.sign_out()
    assert session.me() == {"authenticated": False}


@live
def test_an_upload_whose_answer_is_lost_is_found_not_sent_twice(
    live_server, keystore, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    direct = signed_in(live_server.url, keystore)
    direct.join(tabular.dao.slug)
    plan = Plan(match="/contributions", faults=["drop"])
    path = tmp_path / "once.csv"
    path.write_bytes(good_csv(5))
    with fault_proxy(live_server.url, plan) as url:
        client = signed_in(url, keystore)
        upload = client.upload(tabular.pk, path)
    assert (upload.attempts, upload.recovered) == (2, True)
    [kept] = Contribution.objects.filter(dataset=tabular)
    assert upload.contribution["id"] == kept.pk and kept.signed
    sent = [line.split()[-1] for line in plan.seen if line.startswith("POST /api/datasets/")]
    assert sent == ["drop", "pass"]

    # Sent again on purpose: the platform's refusal, unless the caller says an existing copy
    # will do.
    with pytest.raises(ApiError) as duplicate:
        direct.upload(tabular.pk, path)
    assert (duplicate.value.status, duplicate.value.code) == (409, "duplicate")
    again = direct.upload(tabular.pk, path, existing_ok=True)
    assert again.existing and again.contribution["id"] == kept.pk
    assert Contribution.objects.filter(dataset=tabular).count() == 1


@live
def test_a_503_is_retried_after_its_retry_after(live_server, keystore, tabular, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = Plan(match="/contributions", faults=["503"])
    path = tmp_path / "later.csv"
    path.write_bytes(good_csv(3))
    with fault_proxy(live_server.url, plan) as url:
        client = signed_in(url, keystore)
        client.join(tabular.dao.slug)
        start = time.monotonic()
        upload = client.upload(tabular.pk, path)
        waited = time.monotonic() - start
    assert (upload.attempts, upload.recovered) == (2, False)
    assert waited >= 1.0  # the proxy's Retry-After: 1, over the policy's 0.05 s backoff
    assert Contribution.objects.filter(dataset=tabular).count() == 1

    # Past the policy's attempts, the last refusal is what the caller sees.
    plan.faults = ["503", "503", "503"]
    with fault_proxy(live_server.url, plan) as url:
        client = Client(url, retry=RetryPolicy(attempts=3, backoff=0.01, max_wait=0.01))
        with pytest.raises(ApiError) as busy:
            client.contribution(1)
    assert (busy.value.status, busy.value.code) == (503, "busy")


@live
def test_downloads_that_do_not_match_their_cid_are_refused_and_removed(
    live_server, keystore, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Pinned through the pipeline in this process: no worker needed to make a release.
    member = UserFactory()
    Membership.objects.create(dao=tabular.dao, user=member, role=Role.CONTRIBUTOR)
    web = DjangoClient()
    web.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    pin_here(web, tabular, good_csv(4))
    release = release_publish(dataset=tabular, actor=None)
    plan = Plan(match="/api/releases/", faults=["corrupt", "corrupt"])
    with fault_proxy(live_server.url, plan) as url:
        client = Client(url, retry=FAST)
        with pytest.raises(VerificationError, match="hashes to"):
            client.release_manifest(release.cid)
        with pytest.raises(VerificationError, match="does not hash to its CID"):
            client.download_release(release.cid, tmp_path / "bad")
        assert list((tmp_path / "bad").rglob("*")) == []
        # Untouched, the same downloads verify.
        assert len(client.release_manifest(release.cid)["contributions"]) == 1
        assert client.download_release(release.cid, tmp_path / "good").files
    with pytest.raises(VerificationError, match="invalid CID"):
        Client(live_server.url).download_release("not-a-cid", tmp_path / "x")


@live
def test_a_labeling_bot_takes_answers_skips_and_undoes(live_server, keystore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dataset = make_dataset(DAOFactory(join_policy=JoinPolicy.OPEN))
    make_tasks(dataset, 2)
    session = signed_in(live_server.url, keystore)
    session.join(dataset.dao.slug)
    bot = Client(
        live_server.url, token=session.create_token("labeler", scopes=["label", "read"])["token"]
    )

    first = bot.next_task(dataset.pk)
    hold = first["task"]
    assert hold is not None and hold["labels"] == ["cat", "dog", "bird"]
    assert bot.next_task(dataset.pk)["task"] == hold  # the live hold, not a second task
    answered = bot.submit_label(dataset.pk, hold["hold"], "cat", duration_ms=1200)
    assert answered["label"]["value"] == ["cat"] and answered["progress"]["done_total"] == 1
    assert bot.undo_label(dataset.pk)["hold"] == hold["hold"]
    bot.submit_label(dataset.pk, hold["hold"], "dog")
    assert list(Label.objects.values_list("value", flat=True)) == [["dog"]]

    second = bot.next_task(dataset.pk)["task"]
    assert second is not None and second["hold"] != hold["hold"]
    bot.skip_task(dataset.pk, second["hold"])
    done = bot.next_task(dataset.pk)
    assert done["task"] is None and "Nothing left" in done["detail"]
    assert bot.labeling_progress(dataset.pk)["done_total"] == 1
    with pytest.raises(ApiError) as refused:
        bot.submit_label(dataset.pk, second["hold"], "cat")
    assert refused.value.status in (404, 409) and refused.value.detail


@live
def test_waiting_ends_at_its_timeout_with_the_last_state(
    live_server, keystore, tabular, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(live_server.url, keystore)
    client.join(tabular.dao.slug)
    path = tmp_path / "slow.csv"
    path.write_bytes(good_csv(2))
    upload = client.upload(tabular.pk, path)  # no worker: it stays received
    with pytest.raises(WaitTimeout, match=r"still received after 0\.5 s") as timed_out:
        client.wait_for_contribution(upload.contribution["id"], timeout=0.5, poll=0.1)
    assert timed_out.value.last["status"] == Status.RECEIVED  # type: ignore[index]
