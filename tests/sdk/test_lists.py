"""The lists a script finds ids with, through the SDK against a live server: a member's
allocations and vouchers, a dataset's releases. Keyset pages in a stable order (a row added
mid-walk is neither met twice nor shifts the pages still to read), the platform's 4xx for a
bad cursor or limit, and who sees what: one's own rewards only, a members-only dataset's
releases for its members only."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from contributions.models import Release
from contributions.releases import release_publish
from datadao.models import JoinPolicy, Membership, Role, Visibility
from datadao_client import ApiError, Client
from ipfs.cid import RAW, Cid
from rewards.models import Allocation, Epoch, EpochStatus, Voucher
from tests.contributions.conftest import good_csv
from tests.contributions.test_releases import pinned as pin_here
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.sdk.test_live import FAST, live, signed_in

OTHER = "0x000000000000000000000000000000000000dEaD"


def _epoch(dao, number: int) -> Epoch:  # type: ignore[no-untyped-def]
    return Epoch.objects.create(
        dao=dao,
        number=number,
        status=EpochStatus.CLOSED,
        closed_at=timezone.now(),
        root="0x" + f"{number:02x}" * 32,
    )


def _voucher(dao, contributor: str, nonce: int) -> Voucher:  # type: ignore[no-untyped-def]
    return Voucher.objects.create(
        dao=dao,
        contributor=contributor,
        amount=10**18 + nonce,
        nonce=nonce,
        deadline=2**40,
        dataset_id="0x" + "00" * 32,
        typed_data={"nonce": nonce},
        signature="0x00",
        signer=OTHER,
    )


def _fake_release(dataset, version: int) -> Release:  # type: ignore[no-untyped-def]
    # Listed, never downloaded: the list reads no manifest and no store.
    cid = Cid.of_block(f"release {dataset.pk} v{version}".encode(), codec=RAW)
    return Release.objects.create(
        dataset=dataset,
        version=version,
        cid=str(cid),
        manifest={},
        contributions_count=version,
        total_bytes=100 * version,
    )


@live
def test_a_member_walks_their_allocations_and_vouchers_a_page_at_a_time(
    live_server, keystore
) -> None:  # type: ignore[no-untyped-def]
    session = signed_in(live_server.url, keystore)
    me = keystore[1]
    first, second = DAOFactory(), DAOFactory()
    epochs = [_epoch(first, 1), _epoch(first, 2), _epoch(second, 1)]
    mine = [
        Allocation.objects.create(epoch=e, account=me, amount=5 * (i + 1), tree_index=0)
        for i, e in enumerate(epochs)
    ]
    Allocation.objects.create(epoch=epochs[0], account=OTHER, amount=1, tree_index=1)
    vouchers = [_voucher(first if n % 2 else second, me, n) for n in range(5)]
    _voucher(first, OTHER, 99)

    page = session.allocations(limit=2)
    assert [a["id"] for a in page["allocations"]] == [mine[2].pk, mine[1].pk]
    assert page["next"] is not None
    rest = session.allocations(after=page["next"], limit=2)
    assert [a["id"] for a in rest["allocations"]] == [mine[0].pk] and rest["next"] is None
    assert [a["id"] for a in session.iter_allocations()] == [a.pk for a in reversed(mine)]
    assert [a["epoch"] for a in session.iter_allocations(dao=first.slug)] == [2, 1]
    newest = session.allocations(limit=1)["allocations"][0]
    assert (newest["dao"], newest["account"], newest["amount"]) == (second.slug, me, "15")
    assert newest["state"] == "unclaimed" and not newest["rootOnChain"]
    # The id is what the claim download takes.
    assert session.claim(newest["id"])["amount"] == "15"

    # A voucher made out mid-walk comes before the pages still to read: none is met twice.
    walk = session.iter_vouchers()
    seen = [next(walk)["id"]]
    _voucher(first, me, 5)
    seen += [v["id"] for v in walk]
    assert seen == [v.pk for v in reversed(vouchers)]
    pages = [session.vouchers(limit=2)]
    while pages[-1]["next"] is not None:
        pages.append(session.vouchers(after=pages[-1]["next"], limit=2))
    assert [len(p["vouchers"]) for p in pages] == [2, 2, 2]
    listed = session.vouchers(dao=second.slug)["vouchers"]
    assert [v["nonce"] for v in listed] == ["4", "2", "0"]
    assert listed[0]["amount"] == str(10**18 + 4) and listed[0]["contributor"] == me
    assert session.voucher(listed[0]["id"])["typedData"] == {"nonce": 4}

    # Refusals name the problem; nothing is clamped silently.
    for call, code, words in [
        (lambda: session.allocations(after="x1"), "bad_page", "'after' must be"),
        (lambda: session.vouchers(after="0"), "bad_page", "'after' must be"),
        (lambda: session.vouchers(limit=0), "bad_page", "from 1 to 100"),
        (lambda: session.allocations(limit=101), "bad_page", "from 1 to 100"),
        (lambda: session.allocations(dao="no-such-dao"), "not_found", "no-such-dao"),
    ]:
        with pytest.raises(ApiError) as refused:
            call()
        assert refused.value.code == code and words in refused.value.detail
        assert refused.value.status == (404 if code == "not_found" else 400)

    # Session only: a token is refused; signed out, the list asks for a sign-in.
    bot = Client(live_server.url, token=session.create_token("lists", scopes=["read"])["token"])
    with pytest.raises(ApiError) as token_refused:
        bot.allocations()
    assert (token_refused.value.status, token_refused.value.code) == (403, "token_not_accepted")
    session.sign_out()
    with pytest.raises(ApiError) as anonymous:
        session.vouchers()
    assert (anonymous.value.status, anonymous.value.code) == (401, "unauthenticated")


@live
def test_a_datasets_releases_are_listed_as_its_visibility_allows(
    live_server, keystore, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # A real release (pinned in this process) and two more versions listed after it.
    member = UserFactory()
    Membership.objects.create(dao=tabular.dao, user=member, role=Role.CONTRIBUTOR)
    web = DjangoClient()
    web.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    pin_here(web, tabular, good_csv(4))
    real = release_publish(dataset=tabular, actor=None)
    later = [_fake_release(tabular, real.version + n) for n in (1, 2)]

    anonymous = Client(live_server.url, retry=FAST)
    listed = list(anonymous.iter_releases(tabular.pk))
    assert [r["version"] for r in listed] == [later[1].version, later[0].version, real.version]
    first = anonymous.releases(tabular.pk, limit=2)
    assert len(first["releases"]) == 2 and first["dataset"] == tabular.pk
    tail = anonymous.releases(tabular.pk, after=first["next"], limit=2)
    assert [r["cid"] for r in tail["releases"]] == [real.cid] and tail["next"] is None
    [summary] = tail["releases"]
    assert summary["contributions"] == 1 and not summary["sealed"]
    assert summary["manifest_url"] == f"/api/releases/{real.cid}/manifest.json"
    # The CID listed is what the verified download takes.
    assert anonymous.download_release(summary["cid"], tmp_path / "r").manifest["contributions"]
    with pytest.raises(ApiError) as bad:
        anonymous.releases(tabular.pk, after="-3")
    assert (bad.value.status, bad.value.code) == (400, "bad_page")

    # A members-only dataset: its DAO's members see its releases, with a session or a read
    # token; anyone else is answered as for a dataset that does not exist.
    dao = DAOFactory(join_policy=JoinPolicy.OPEN)
    private = DatasetFactory(dao=dao, kind="tabular", visibility=Visibility.MEMBERS)
    hidden = _fake_release(private, 1)
    outsider = signed_in(live_server.url, keystore)
    for client in (anonymous, outsider):
        with pytest.raises(ApiError) as unseen:
            client.releases(private.pk)
        missing = Client(live_server.url).releases  # the same answer as for no dataset
        with pytest.raises(ApiError) as none:
            missing(2_147_483_000)
        assert unseen.value.status == none.value.status == 404
        assert unseen.value.detail.replace(str(private.pk), "<id>") == none.value.detail.replace(
            "2147483000", "<id>"
        )
    outsider.join(dao.slug)
    assert [r["cid"] for r in outsider.iter_releases(private.pk)] == [hidden.cid]
    reader = Client(live_server.url, token=outsider.create_token("r", scopes=["read"])["token"])
    assert [r["cid"] for r in reader.iter_releases(private.pk)] == [hidden.cid]
