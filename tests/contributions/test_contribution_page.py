"""/me/contributions/<id>: one contribution for its owner, in words, live while processed."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.models import Contribution, ContributionProof, Review, Status
from rewards.models import Epoch, RewardEntry, RewardPolicy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPORT = {
    "validation": {
        "bytes": 2048,
        "sniffed": {"media_type": "text/csv", "detail": "UTF-8 text", "acceptable": ["text/csv"]},
        "tabular": {
            "format": "csv",
            "encoding": "utf-8",
            "delimiter": ",",
            "header": ["id", "value", "kind"],
            "columns": 3,
            "rows_total": 10,
            "rows_valid": 8,
            "rows_invalid": 2,
            "missing_by_column": {"id": 0, "value": 3, "kind": 1},
            "out_of_range": 1,
            "errors": [
                {"row": 4, "line": 5, "column": "value", "value": "-3", "reason": "below min 0"},
                {"row": 7, "line": 8, "column": "kind", "value": "z", "reason": "not one of a, b"},
            ],
            "errors_total": 2,
            "fatal": [],
        },
        "future_stage_key": {"something": 3},
    },
    "novelty": {"rows_new": 6, "rows_total": 10},
}


def _make(dataset, user, **fields) -> Contribution:  # type: ignore[no-untyped-def]
    n = Contribution.objects.count() + 1
    defaults = {
        "sha256": f"{n:064x}",
        "size": 2048,
        "storage_name": f"page{n}",
        "original_name": f"file{n}.csv",
        "status": Status.PINNED,
        "cid": f"bafkreipage{n}",
        "report": REPORT,
        "authenticity": 10000,
        "ownership": 10000,
        "quality": 7000,
        "uniqueness": 6000,
        "score": 7667,
    }
    return Contribution.objects.create(dataset=dataset, contributor=user, **(defaults | fields))


def _url(c: Contribution) -> str:
    return f"/me/contributions/{c.pk}"


def test_the_owner_sees_status_scores_report_cid_proof_and_reward(
    member_client: Client,
    member,
    tabular,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    dao = tabular.dao
    dao.token_symbol, dao.token_decimals = "AIR", 18
    dao.save()
    RewardPolicy.objects.create(dataset=tabular, per_contribution=3 * 10**18)
    c = _make(tabular, member)
    ContributionProof.objects.create(
        contribution=c, typed_data={}, signature="0x" + "1" * 130, signer="0x" + "2" * 40
    )
    epoch = Epoch.objects.create(dao=dao, number=1)
    RewardEntry.objects.create(
        dao=dao, dataset=tabular, account=member, amount=2300100000000000000,
        reason="contribution", source_type="contributions.contribution", source_id=str(c.pk),
    )  # fmt: skip
    # Session, user, the contribution with its dataset, DAO, policy and proof, the reward
    # entry with its epoch, the nav's console check.
    with django_assert_num_queries(5):
        response = member_client.get(_url(c))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>Pinned</strong> — Pinned: it is part of the dataset" in body
    assert "data-poll-url" not in body  # final: nothing polls
    assert f'<a href="/ipfs/{c.cid}"><code class="cid">{c.cid}</code></a>' in body
    assert f'href="/api/contributions/{c.pk}/proof"' in body
    assert '<th scope="row">Quality</th><td>7000</td><td>2</td>' in body
    assert "valid, complete rows" in body and "this dataset accepts 5000 or more (passed)" in body
    # The report in words: rows, the first problems by row and column, missing per column.
    assert "8 of 10 rows are valid." in body
    assert (
        "<td>4</td><td>5</td><td><code>value</code></td><td><code>-3</code></td>"
        "<td>below min 0</td>" in body
    )
    assert "<td><code>value</code></td><td>3</td>" in body
    assert "Its content was recognised as text/csv (UTF-8 text)." in body
    assert "2.0 KiB received." in body
    # Keys the page does not know are shown, not dropped.
    assert "Future stage key" in body and "<h3>Novelty</h3>" in body and "Rows new" in body
    # The reward, in tokens, accruing in the open epoch.
    assert '<strong class="amount">2.3001 AIR</strong>, accruing in the open epoch' in body
    RewardEntry.objects.update(epoch=epoch)
    assert "settled in epoch 1" in member_client.get(_url(c)).content.decode()


def test_another_users_contribution_is_a_404_like_a_missing_one(
    member_client: Client,
    tabular,  # type: ignore[no-untyped-def]
) -> None:
    theirs = _make(tabular, UserFactory())
    assert member_client.get(_url(theirs)).status_code == 404
    assert member_client.get(_url(theirs), HTTP_HX_REQUEST="true").status_code == 404
    assert member_client.get("/me/contributions/999999").status_code == 404
    anonymous = Client().get(_url(theirs))
    assert anonymous.status_code == 302 and theirs.original_name not in anonymous.content.decode()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"status": Status.REJECTED, "score": 3000, "cid": ""},
         "Below the threshold: its combined score 3,000 is under this dataset&#x27;s 5,000"),
        ({"status": Status.REJECTED, "score": None, "cid": "", "reasons": ["row 1: bad"]},
         "Rejected: a rejected contribution earns nothing"),
        ({"status": Status.VALIDATING, "score": None, "cid": ""}, "Not scored yet"),
        ({"status": Status.ACCEPTED}, "Not pinned yet: it is credited once it is pinned to IPFS"),
        ({"status": Status.ACCEPTED, "review": Review.PENDING}, "Pending review"),
        ({"status": Status.PINNED}, "No reward policy: this dataset pays nothing per contribution"),
        ({"status": Status.FAILED, "failure": "IPFS was down", "cid": ""}, "Processing failed"),
    ],
)  # fmt: skip
def test_no_reward_says_why(
    member_client: Client,
    member,
    tabular,
    fields,
    why,  # type: ignore[no-untyped-def]
) -> None:
    c = _make(tabular, member, **fields)
    body = member_client.get(_url(c)).content.decode()
    assert why in body


def test_the_live_part_polls_until_final_and_is_served_alone_to_htmx(
    member_client: Client,
    member,
    tabular,  # type: ignore[no-untyped-def]
) -> None:
    c = _make(tabular, member, status=Status.VALIDATING, score=None, cid="", report={})
    body = member_client.get(_url(c)).content.decode()
    assert f'data-poll-url="/me/contributions/{c.pk}"' in body
    assert "contributions/live" in body and "No report yet" in body
    Contribution.objects.filter(pk=c.pk).update(status=Status.PINNED, score=7667, cid="bafkreidone")
    part = member_client.get(_url(c), HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<section id="contribution-live"')
    assert "<html" not in part and "data-poll-url" not in part
    assert '<a href="/ipfs/bafkreidone">' in part


def test_my_contributions_links_each_row_to_its_page(
    member_client: Client,
    member,
    tabular,  # type: ignore[no-untyped-def]
) -> None:
    c = _make(tabular, member)
    body = member_client.get("/me/contributions").content.decode()
    assert f'<a href="/me/contributions/{c.pk}"' in body
