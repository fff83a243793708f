"""The labeler's page: what each visitor sees, what the script is given, and what it never is."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from labeling import services
from labeling.models import LabelerStats
from tests.factories import DatasetFactory, UserFactory
from tests.labeling.conftest import login, make_dataset, make_gold, make_tasks

pytestmark = pytest.mark.django_db


def _page(dataset) -> str:  # type: ignore[no-untyped-def]
    return f"/daos/{dataset.dao.slug}/{dataset.slug}/label"


def test_member_gets_numbered_label_buttons_keyboard_help_and_the_script(
    ldataset, labelers, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = login(labelers[0])
    with django_assert_max_num_queries(8):
        response = client.get(_page(ldataset))
    assert response.status_code == 200
    body = response.content.decode()
    for key, name in (("1", "cat"), ("2", "dog"), ("3", "bird")):
        assert (
            f'<button type="button" class="choice" name="label" value="{name}" '
            f'data-key="{key}" aria-pressed="false"><kbd>{key}</kbd> <span class="name">{name}'
        ) in body
    assert 'type="checkbox"' not in body
    for shortcut in ("<kbd>1–3</kbd>", "Pick a label", "<kbd>Enter</kbd>", "<kbd>S</kbd>"):
        assert shortcut in body
    assert "Undo your last answer (within 60 seconds)" in body
    assert f'data-api="/api/labeling/{ldataset.pk}/"' in body
    assert 'data-state="ready"' in body
    assert 'role="status" aria-live="polite"' in body
    assert "/static/labeling/label.js" in body and "/static/labeling/label.css" in body
    assert "<noscript>" in body
    assert 'id="done-today">0<' in body
    assert "shown once you have answered 10 check questions" in body
    assert "updated every 25 answers, so it never shows how you did on a single item" in body


def test_multi_choice_dataset_renders_labelled_checkboxes_and_the_tenth_key_is_zero(
    ldao, labelers
) -> None:  # type: ignore[no-untyped-def]
    names = [f"c{i}" for i in range(11)]
    dataset = make_dataset(ldao, labels=names, multi_choice=True)
    body = login(labelers[0]).get(_page(dataset)).content.decode()
    assert body.count('type="checkbox"') == 11
    assert '<label class="choice"><input type="checkbox" name="label" value="c0"' in body
    assert 'value="c9" data-key="0"> <kbd>0</kbd>' in body
    assert 'value="c10" data-key="">' in body
    assert 'data-multi="true"' in body and "Tick every label that applies" in body
    assert "<kbd>1–9, 0</kbd>" in body and "Tick or untick a label" in body


def test_digit_labels_are_their_own_keys(ldao, labelers) -> None:  # type: ignore[no-untyped-def]
    dataset = make_dataset(ldao, labels=[str(d) for d in range(10)])
    body = login(labelers[0]).get(_page(dataset)).content.decode()
    for digit in "0123456789":
        assert f'value="{digit}" data-key="{digit}" aria-pressed="false"><kbd>{digit}</kbd>' in body
    assert "<kbd>0–9</kbd>" in body


def test_signed_out_visitor_is_told_to_sign_in_and_gets_no_workspace(ldataset) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(_page(ldataset))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign in to label." in body and "Sign in with Ethereum" in body
    assert 'id="labeler"' not in body and "label.js" not in body


def test_non_member_is_told_how_to_join(ldataset) -> None:  # type: ignore[no-untyped-def]
    outsider = UserFactory()
    body = login(outsider).get(_page(ldataset)).content.decode()
    assert f"Only members of {ldataset.dao.name} can label this dataset." in body
    # The DAO's page, where they join (DAOFactory's default policy: by request).
    assert f'<a href="/daos/{ldataset.dao.slug}/">{ldataset.dao.name}\'s page</a>' in body
    assert "ask to join there, signing its terms with your wallet; an admin of" in body
    assert outsider.address in body
    assert 'id="labeler"' not in body


def test_closed_dataset_says_so(ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    dataset_set_status(dataset=ldataset, actor=None, status=DatasetStatus.CLOSED)
    body = login(labelers[0]).get(_page(ldataset)).content.decode()
    assert "This dataset is not open for labeling" in body
    assert "Labeling on it has ended" in body
    assert 'id="labeler"' not in body


def test_paused_labeler_sees_the_reason_and_no_task_is_requested(ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    LabelerStats.objects.create(
        dataset=ldataset,
        labeler=labelers[0],
        paused_at=timezone.now(),
        paused_reason="accuracy on check questions below 60%",
    )
    body = login(labelers[0]).get(_page(ldataset)).content.decode()
    assert "You are paused on this dataset." in body
    assert "accuracy on check questions below 60%" in body
    assert f"Ask an admin of {ldataset.dao.name} to resume you." in body
    assert 'data-state="paused"' in body
    assert '<div id="label-work" hidden>' in body


def test_only_the_reported_gold_accuracy_is_shown(ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    stats = LabelerStats.objects.create(
        dataset=ldataset, labeler=labelers[0], labels=9, gold_answered=12, gold_correct=9
    )
    client = login(labelers[0])
    body = client.get(_page(ldataset)).content.decode()
    assert "shown once you have answered 10 check questions" in body and "75%" not in body
    stats.gold_shown_answered, stats.gold_shown_correct = 10, 8
    stats.save()
    body = client.get(_page(ldataset)).content.decode()
    assert 'id="done-total">9<' in body
    assert "80% of 10" in body


def test_page_carries_no_task_gold_or_consensus_information(ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    make_tasks(ldataset, 2)
    make_gold(ldataset, ["dog"])
    for user in labelers[1:4]:
        hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
        services.label_submit(dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="dog")
    body = login(labelers[0]).get(_page(ldataset)).content.decode().lower()
    for leak in ("item 0", "gold item", "is_gold", "consensus", "posterior", "label_count"):
        assert leak not in body


def test_other_kinds_and_invisible_datasets_are_not_found(ldao, ldataset, labelers) -> None:  # type: ignore[no-untyped-def]
    tabular = DatasetFactory(dao=ldao)
    member = login(labelers[0])
    assert member.get(_page(tabular)).status_code == 404
    private = make_dataset(ldao)
    private.visibility = Visibility.MEMBERS
    private.save(update_fields=["visibility"])
    assert member.get(_page(private)).status_code == 200
    assert Client().get(_page(private)).status_code == 404
    assert login(UserFactory()).get(_page(private)).status_code == 404
    assert member.get(f"/daos/{ldao.slug}/nothing/label").status_code == 404


def test_script_and_stylesheet_are_served() -> None:
    for path, marker in (
        ("/static/labeling/label.js", b"textContent"),
        ("/static/labeling/label.css", b".choice"),
    ):
        response = Client().get(path)
        assert response.status_code == 200, path
        assert marker in b"".join(response.streaming_content)
