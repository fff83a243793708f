"""The founder's checklist on a DAO's console page: each first step, whether it is done (from
``selectors.dao_setup_steps``) and a link to the console page where it is done."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext

from datadao.models import DAO
from datadao.selectors import SetupStep, dao_setup_steps


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    hint: str
    url: str
    done: bool


def _dataset_url(step: SetupStep, dao: DAO) -> str:
    if step.dataset_id is None:
        return f"{reverse('admin:datadao_dataset_add')}?dao={dao.pk}"
    return reverse("admin:datadao_dataset_change", args=[step.dataset_id])


def _rewards_url(step: SetupStep) -> str:
    if step.object_id is not None:
        return reverse("admin:rewards_rewardpolicy_change", args=[step.object_id])
    url = reverse("admin:rewards_rewardpolicy_add")
    return f"{url}?dataset={step.dataset_id}" if step.dataset_id else url


def setup_checklist(*, dao: DAO) -> list[ChecklistItem]:
    steps = {step.key: step for step in dao_setup_steps(dao=dao)}
    datasets = reverse("admin:datadao_dataset_changelist")
    texts = {
        "dataset": (
            gettext("Add a dataset"),
            gettext(
                "Name what members contribute: a table, files or items to label, and its license."
            ),
            f"{reverse('admin:datadao_dataset_add')}?dao={dao.pk}",
        ),
        "schema": (
            gettext("Set its schema"),
            gettext("The columns, media types or labels every upload is checked against."),
            _dataset_url(steps["schema"], dao),
        ),
        "rewards": (
            gettext("Set a reward policy"),
            gettext(
                "How many tokens an accepted contribution, a new row or a settled label earns."
            ),
            _rewards_url(steps["rewards"]),
        ),
        "open": (
            gettext("Open it for contributions"),
            gettext("Select the dataset and run “Open selected datasets for contributions”."),
            f"{datasets}?status__exact=draft",
        ),
        "invite": (
            gettext("Invite members"),
            gettext("Create an invite link (shown once) to send to the first contributors."),
            f"{reverse('admin:datadao_invitelink_add')}?dao={dao.pk}",
        ),
    }
    return [
        ChecklistItem(key, *texts[key], done=steps[key].done)
        for key in ("dataset", "schema", "rewards", "open", "invite")
    ]
