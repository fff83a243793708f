"""The console's reward policy form: amounts typed in tokens, stored exactly in base units."""

from __future__ import annotations

import pytest
from django.test import Client

from rewards.models import RewardPolicy
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/rewards/rewardpolicy/add/"


def _creator(decimals: int = 18, symbol: str = "AIR") -> tuple[Client, object]:
    dao = DAOFactory(token_symbol=symbol, token_decimals=decimals)
    dataset = DatasetFactory(dao=dao)
    client = Client()
    client.force_login(dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    return client, dataset


def _post(client: Client, dataset: object, **amounts: str):  # type: ignore[no-untyped-def]
    data = {"dataset": dataset.pk, "per_contribution": "0", "per_label": "0", "epoch_budget": ""}
    return client.post(ADD, data | amounts)


def test_typing_tokens_stores_exact_base_units() -> None:
    client, dataset = _creator()
    response = _post(
        client, dataset, per_contribution="1.5", per_label="0.25", epoch_budget="1,000"
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = RewardPolicy.objects.get(dataset=dataset)
    assert int(policy.per_contribution) == 1500000000000000000
    assert int(policy.per_label) == 250000000000000000
    assert int(policy.epoch_budget) == 1000 * 10**18
    # The change page and the list show tokens, not base units.
    change = client.get(f"/admin/rewards/rewardpolicy/{policy.pk}/change/").content.decode()
    assert 'value="1.5"' in change and 'value="0.25"' in change and 'value="1,000"' in change
    assert "Per contribution (AIR)" in change
    listing = client.get("/admin/rewards/rewardpolicy/").content.decode()
    assert "1.5 AIR" in listing and "1,000 AIR" in listing
    assert "1500000000000000000" not in listing


def test_an_empty_budget_means_no_cap() -> None:
    client, dataset = _creator()
    assert _post(client, dataset, per_contribution="2").status_code == 302
    assert RewardPolicy.objects.get(dataset=dataset).epoch_budget is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1.1234567", "1.1234567 has 7 digits after the point, but this token has 6 decimals"),
        ("-1", "-1 is negative; an amount of tokens is 0 or more"),
        ("five", "&#x27;five&#x27; is not an amount of tokens"),
        ("1e6", "&#x27;1e6&#x27; is not an amount of tokens"),
    ],
)
def test_refused_amounts_are_form_errors_that_say_why(typed: str, message: str) -> None:
    client, dataset = _creator(decimals=6, symbol="USDC")
    response = _post(client, dataset, per_contribution=typed)
    assert response.status_code == 200  # the form again, with its error; nothing stored
    body = response.content.decode()
    assert message in body and "USDC has 6 decimals" in body
    assert not RewardPolicy.objects.filter(dataset=dataset).exists()


def test_a_whole_number_token_refuses_a_fraction() -> None:
    client, dataset = _creator(decimals=0, symbol="PTS")
    body = _post(client, dataset, per_label="0.5").content.decode()
    assert "this token has no decimals: enter a whole number" in body
    assert _post(client, dataset, per_label="7").status_code == 302
    assert int(RewardPolicy.objects.get(dataset=dataset).per_label) == 7


def test_the_console_edits_a_daos_decimals_within_range() -> None:
    client, dataset = _creator(decimals=18)
    dao = dataset.dao
    url = f"/admin/datadao/dao/{dao.pk}/change/"
    form = {
        "name": dao.name,
        "description": "",
        "token_symbol": dao.token_symbol,
        "chain_id": "1",
        "reward_contract_address": "",
        "epoch_days": "",
    }
    refused = client.post(url, form | {"token_decimals": "40"})
    assert refused.status_code == 200
    assert "Ensure this value is less than or equal to 36." in refused.content.decode()
    assert client.post(url, form | {"token_decimals": "6"}).status_code == 302
    dao.refresh_from_db()
    assert dao.token_decimals == 6
    # The policy form now reads and refuses amounts by the new decimals.
    body = _post(client, dataset, per_contribution="0.0000001").content.decode()
    assert "but this token has 6 decimals" in body
