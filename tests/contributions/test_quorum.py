"""A DAO's k-of-n validator set (#24 item 4), in this process against PostgreSQL: the attest
stage hands the contribution to the validators, k agreeing attestations accept it with all
their signatures, disagreement holds it, the validator out of line is recorded, and a DAO
without a set keeps the platform's fleet key."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from contributions import tasks
from contributions.attestation import attestation_typed_data, recover, typed_data
from contributions.models import (
    Contribution,
    ContributionProof,
    Review,
    Status,
    ValidatorAttestation,
    ValidatorDisagreement,
)
from contributions.quorum import agree
from contributions.quorum.services import (
    contribution_attest_again,
    quorum_evaluate,
    validator_set_change,
)
from contributions.services import contribution_override
from datadao.governed import ChangeKind, ReservedForGovernance
from datadao.keys import load_signer
from datadao.models import AuditEvent
from tests.contributions.conftest import good_csv
from tests.contributions.quorum import (
    attest,
    attestation_for,
    attesting,
    get,
    pin,
    post,
    register,
    validator_keys,
    work_item,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _claim(**overrides: object) -> agree.Claim:
    values = {
        "accepted": True,
        "cid": "bafk",
        "score": 7000,
        "quality": 8000,
        "uniqueness": 10000,
        "validator_version": 1,
    }
    return agree.Claim(**{**values, **overrides})  # type: ignore[arg-type]


# --- the pure decision -------------------------------------------------------------------------


def test_k_agreeing_claims_reach_the_quorum_and_the_rest_are_out_of_line() -> None:
    members = frozenset({"a", "b", "c"})
    good, off = _claim(), _claim(score=7100)
    verdict = agree.decide(
        claims={"a": good, "c": off, "b": good}, members=members, threshold=2, reference=good
    )
    assert verdict == agree.Verdict(agree.State.REACHED, good, ("a", "b"), ("c",))


def test_waiting_while_the_missing_validators_could_still_make_k() -> None:
    members = frozenset({"a", "b", "c"})
    verdict = agree.decide(
        claims={"a": _claim(), "b": _claim(score=1)},
        members=members,
        threshold=2,
        reference=_claim(),
    )
    assert verdict.state == agree.State.WAITING


def test_held_when_no_claim_can_reach_k_against_the_platforms_result() -> None:
    members = frozenset({"a", "b", "c"})
    reference = _claim()
    verdict = agree.decide(
        claims={"a": reference, "b": reference, "c": _claim(accepted=False)},
        members=members,
        threshold=3,
        reference=reference,
    )
    assert verdict.state == agree.State.HELD and verdict.out_of_line == ("c",)


def test_claims_of_non_members_are_not_counted() -> None:
    verdict = agree.decide(
        claims={"a": _claim(), "x": _claim(), "y": _claim()},
        members=frozenset({"a", "b"}),
        threshold=2,
        reference=_claim(),
    )
    assert verdict.state == agree.State.WAITING


def test_a_threshold_outside_one_to_n_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold 4 is not between 1 and 3"):
        agree.decide(claims={}, members=frozenset("abc"), threshold=4, reference=_claim())


# --- through the pipeline and the API --------------------------------------------------------


def test_a_dao_without_a_set_keeps_the_fleet_signer(tabular, member_client: Client) -> None:
    response = member_client.post(
        f"/api/datasets/{tabular.pk}/contributions",
        {"file": __import__("io").BytesIO(good_csv(4))},
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    tasks.process_contribution(pk)
    tasks.pin_contribution(pk)
    c = Contribution.objects.select_related("proof").get(pk=pk)
    assert c.status == Status.PINNED
    assert c.proof.signer == load_signer("validator").address
    assert c.proof.attestations == [] and c.proof.validator_set_id is None


def test_two_of_three_agree_the_proof_carries_both_signatures(
    tabular, member_client: Client
) -> None:
    keys = validator_keys(3)
    validator_set = register(tabular.dao, keys, 2)
    c = attesting(member_client, tabular, good_csv(6))
    client = Client()
    # The third validator's work item, listed while the contribution still waits.
    third_item = work_item(client, keys[2], c.pk)
    first = attest(client, keys[0], c.pk)
    assert first.status_code == 201 and first.json()["status"] == "attesting", first.content
    second = attest(client, keys[1], c.pk)
    assert second.status_code == 201 and second.json()["status"] == "pinning", second.content
    c = Contribution.objects.select_related("proof").get(pk=c.pk)
    proof = c.proof
    assert proof.validator_set_id == validator_set.pk and proof.signature == ""
    assert sorted(a["validator"] for a in proof.attestations) == sorted(k.address for k in keys[:2])
    # Each signature is its validator's, over the proof's message with its own address.
    message = proof.typed_data["message"]
    assert proof.typed_data == typed_data_of(c)
    for a in proof.attestations:
        payload = attestation_typed_data(
            fields_of(c), accepted=True, validator=a["validator"], chain_id=c.dataset.dao.chain_id
        )
        assert payload["message"] == {**message, "accepted": True, "validator": a["validator"]}
        assert recover(payload, a["signature"]) == a["validator"]
    # The third, late and out of line (score perturbed), is recorded but not counted.
    assert all(i["id"] != c.pk for i in listed(client, keys[2]))  # no longer listed
    late_body = attestation_for(client, keys[2], third_item, perturb=37)
    late = post(client, keys[2], third_item["attestations_url"], late_body)
    assert late.status_code == 201 and late.json()["status"] == "pinning"
    [disagreement] = ValidatorDisagreement.objects.filter(contribution=c)
    assert disagreement.validator == keys[2].address and disagreement.against == "quorum"
    assert any(d.startswith("score:") for d in disagreement.differences)
    assert len(Contribution.objects.get(pk=c.pk).proof.attestations) == 2
    assert pin(c.pk).status == Status.PINNED


def listed(client: Client, key) -> list:  # type: ignore[no-untyped-def, type-arg]
    return get(client, key, "/api/validators/work").json()["contributions"]


def fields_of(c: Contribution):  # type: ignore[no-untyped-def]
    from contributions.quorum.services import _fields

    return _fields(
        c, agree.Claim(True, c.cid, c.score, c.quality, c.uniqueness, c.validator_version)
    )


def typed_data_of(c: Contribution) -> dict:  # type: ignore[type-arg]
    return typed_data(fields_of(c), chain_id=c.dataset.dao.chain_id)


def test_disagreement_with_k_out_of_reach_holds_the_contribution(
    tabular, member_client: Client
) -> None:
    keys = validator_keys(3)
    register(tabular.dao, keys, 3)
    c = attesting(member_client, tabular, good_csv(5, start=40))
    client = Client()
    third_item = work_item(client, keys[2], c.pk)
    assert attest(client, keys[0], c.pk).json()["status"] == "attesting"
    # 3 of 3 needed, one differs: agreement is out of reach at once.
    assert attest(client, keys[1], c.pk, perturb=-5).json()["status"] == "held"
    late = post(
        client,
        keys[2],
        third_item["attestations_url"],
        attestation_for(client, keys[2], third_item),
    )
    assert late.status_code == 201 and late.json()["status"] == "held"
    c = Contribution.objects.get(pk=c.pk)
    assert c.status == Status.HELD and c.review == Review.PENDING
    assert not hasattr(c, "proof")
    [disagreement] = ValidatorDisagreement.objects.filter(contribution=c)
    assert disagreement.validator == keys[1].address and disagreement.against == "held"
    assert AuditEvent.objects.filter(verb="contribution.held", object_id=str(c.pk)).exists()
    # The DAO asks again: the attestations go, the disagreement log stays.
    contribution_attest_again(contribution=c, actor=tabular.dao.creator)
    c = Contribution.objects.get(pk=c.pk)
    assert c.status == Status.ATTESTING and c.review == Review.NONE
    assert not ValidatorAttestation.objects.filter(contribution=c).exists()
    assert ValidatorDisagreement.objects.filter(contribution=c).count() == 1
    attest(client, keys[0], c.pk)
    attest(client, keys[1], c.pk, perturb=-5)
    c = Contribution.objects.get(pk=c.pk)
    assert c.status == Status.HELD
    # ... and rejects it.
    contribution_override(contribution=c, actor=tabular.dao.creator, decision="reject")
    assert Contribution.objects.get(pk=c.pk).status == Status.REJECTED


def test_k_validators_agreeing_on_rejection_reject_it(tabular, member_client: Client) -> None:
    keys = validator_keys(2)
    register(tabular.dao, keys, 2)
    c = attesting(member_client, tabular, good_csv(5, start=70))
    client = Client()
    # Both validators find the score 6000 points lower: under the threshold, so rejected.
    attest(client, keys[0], c.pk, perturb=-6000)
    answer = attest(client, keys[1], c.pk, perturb=-6000)
    assert answer.json()["status"] == "rejected"
    c = Contribution.objects.get(pk=c.pk)
    assert c.status == Status.REJECTED
    assert "Rejected by 2 of the DAO's 2 validators" in c.reasons[-1]
    assert "below the threshold" in c.reasons[-1]


def test_the_held_contribution_is_in_the_consoles_review_queue(
    tabular, member_client: Client
) -> None:
    keys = validator_keys(2)
    register(tabular.dao, keys, 2)
    c = attesting(member_client, tabular, good_csv(5, start=90))
    client = Client()
    attest(client, keys[0], c.pk)
    attest(client, keys[1], c.pk, perturb=3)
    assert Contribution.objects.get(pk=c.pk).status == Status.HELD
    console = Client()
    console.force_login(tabular.dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    listing = console.get("/admin/contributions/contribution/?status__exact=held")
    assert listing.status_code == 200
    assert f">{c.pk}<" in listing.content.decode()
    assert "Held: validators disagree" in listing.content.decode()
    page = console.get(f"/admin/contributions/contribution/{c.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200 and keys[0].address in body and keys[1].address in body


def test_a_lower_threshold_decides_the_waiting_contributions_again(
    tabular, member_client: Client
) -> None:
    keys = validator_keys(3)
    register(tabular.dao, keys, 3)
    c = attesting(member_client, tabular, good_csv(5, start=120))
    client = Client()
    attest(client, keys[0], c.pk)
    attest(client, keys[1], c.pk)
    assert Contribution.objects.get(pk=c.pk).status == Status.ATTESTING
    register(tabular.dao, keys, 2)
    tasks.quorum_reevaluate(tabular.dao_id)
    assert Contribution.objects.get(pk=c.pk).status == Status.PINNING
    assert quorum_evaluate(contribution_id=c.pk) == "skipped"  # idempotent


def test_removing_the_set_hands_waiting_contributions_back_to_the_fleet(
    tabular, member_client: Client
) -> None:
    keys = validator_keys(2)
    register(tabular.dao, keys, 2)
    c = attesting(member_client, tabular, good_csv(5, start=150))
    validator_set_change(dao=tabular.dao, addresses=[], threshold=0, actor=None)
    tasks.quorum_reevaluate(tabular.dao_id)
    assert Contribution.objects.get(pk=c.pk).status == Status.ACCEPTED
    tasks.attest_contribution(c.pk)
    c = Contribution.objects.select_related("proof").get(pk=c.pk)
    assert c.status == Status.PINNING and c.proof.signer == load_signer("validator").address


def test_the_batch_lane_hands_a_set_daos_contributions_to_its_validators(
    tabular, member_client: Client
) -> None:
    register(tabular.dao, validator_keys(2), 2)
    ids = []
    with override_settings(PIPELINE_BATCH_SIZE=8):
        for start in (0, 300, 600):
            response = member_client.post(
                f"/api/datasets/{tabular.pk}/contributions",
                {"file": __import__("io").BytesIO(good_csv(4, start=start))},
            )
            ids.append(response.json()["id"])
        while tasks.process_batch() not in (None, "nothing waiting"):
            pass
    statuses = set(Contribution.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {Status.ATTESTING}
    assert all(Contribution.objects.filter(pk__in=ids).values_list("cid", flat=True))


# --- changing the set ------------------------------------------------------------------------


def test_changing_the_set_is_audited_with_what_it_replaced(tabular) -> None:
    keys = validator_keys(3)
    first = register(tabular.dao, keys[:2], 1)
    creator = tabular.dao.creator
    second = validator_set_change(
        dao=tabular.dao, addresses=[k.address.lower() for k in keys], threshold=2, actor=creator
    )
    assert (first.version, second.version) == (1, 2)
    event = AuditEvent.objects.filter(verb="validators.set_changed").order_by("-id").first()
    assert event.actor == creator
    assert event.details["validators"] == sorted(k.address for k in keys)
    assert event.details["before"]["validators"] == sorted(k.address for k in keys[:2])
    assert event.details["before"]["threshold"] == 1


@pytest.mark.parametrize(
    ("addresses", "threshold", "message"),
    [
        (["0x12"], 1, "is not an Ethereum address"),
        ([], 1, "threshold 0"),
        (["a"], 0, "is not an Ethereum address"),
        (None, 1, "must be a list"),
    ],
)
def test_bad_sets_are_refused_by_name(tabular, addresses, threshold, message) -> None:  # type: ignore[no-untyped-def]
    from contributions.quorum.errors import ValidatorSetRefused

    with pytest.raises(ValidatorSetRefused, match=message):
        validator_set_change(dao=tabular.dao, addresses=addresses, threshold=threshold, actor=None)


def test_threshold_must_be_within_one_to_n_and_a_repeat_changes_nothing(tabular) -> None:
    from contributions.quorum.errors import ValidatorSetRefused

    keys = validator_keys(2)
    with pytest.raises(ValidatorSetRefused, match="between 1 and the number of validators"):
        register(tabular.dao, keys, 3)
    register(tabular.dao, keys, 2)
    with pytest.raises(ValidatorSetRefused, match="already these 2 validators"):
        register(tabular.dao, keys, 2)


def test_a_dao_reserving_the_set_for_governance_refuses_the_console(tabular) -> None:
    dao = tabular.dao
    dao.governance_reserved = [ChangeKind.VALIDATOR_SET.value]
    dao.save(update_fields=["governance_reserved"])
    with pytest.raises(ReservedForGovernance, match=r"validators\.set"):
        register(dao, validator_keys(2), 2)
    from governance.changes import change_apply, change_check

    checked = change_check(
        dao=dao,
        kind=ChangeKind.VALIDATOR_SET,
        change={"validators": [k.address for k in validator_keys(2)], "threshold": 2},
    )
    applied = change_apply(
        dao=dao, kind=ChangeKind.VALIDATOR_SET, change=checked.change, proposal=7
    )
    assert applied == {"validator_set": 1}
    event = AuditEvent.objects.get(verb="validators.set_changed")
    assert event.details["proposal"] == 7


def test_the_console_form_registers_a_set(tabular) -> None:
    keys = validator_keys(3)
    console = Client()
    console.force_login(tabular.dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    response = console.post(
        "/admin/contributions/validatorset/add/",
        {"dao": tabular.dao.pk, "validators": "\n".join(k.address for k in keys), "threshold": 2},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    refused = console.post(
        "/admin/contributions/validatorset/add/",
        {"dao": tabular.dao.pk, "validators": keys[0].address, "threshold": 2},
    )
    assert (
        "threshold must be between 1 and the number of validators (1)" in refused.content.decode()
    )
    outsider = UserFactory()
    other = Client()
    other.force_login(outsider, backend="django.contrib.auth.backends.ModelBackend")
    assert other.get("/admin/contributions/validatorset/add/").status_code in (302, 403)


def test_a_set_registered_while_the_fleet_was_signing_gets_no_fleet_proof(
    tabular, member_client: Client
) -> None:
    """The lane chose the fleet key (no set yet) and signed; the DAO registers a set before the
    proof is recorded: the recorder, reading the set under the DAO row's lock, keeps no fleet
    proof and the contribution waits for the validators."""
    from contributions import pipeline
    from contributions import services as contribution_services
    from contributions.lanes import stages as stage_lane

    response = member_client.post(
        f"/api/datasets/{tabular.pk}/contributions",
        {"file": __import__("io").BytesIO(good_csv(4))},
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, run in (("validate", stage_lane.run_validation), ("score", stage_lane.run_scoring)):
        run(contribution_services.contribution_begin(contribution_id=pk, stage=stage))
    contribution = contribution_services.contribution_begin(contribution_id=pk, stage="attest")
    with contribution_services.contribution_stored(contribution) as stored:
        cid = pipeline.local_cid(stored)
    signer = load_signer("validator")
    payload, signature = pipeline.proof(contribution, cid, signer)  # the fleet signed...
    register(tabular.dao, validator_keys(3), 2)  # ...then the DAO's set was registered
    contribution_services.contribution_record_attestation(
        contribution_id=pk, cid=cid, typed_data=payload, signature=signature, signer=signer.address
    )
    c = Contribution.objects.get(pk=pk)
    assert c.status == Status.ATTESTING
    assert c.cid == cid
    assert not ContributionProof.objects.filter(contribution_id=pk).exists()
