"""The whole demo that ``bin/run`` shows: the DAO, members and datasets (``datadao.demo``), then
each app's part, in the order they build on each other. Idempotent: running it twice leaves the
same state."""

from __future__ import annotations

from django.db import transaction

from contributions.demo import EXPECTED_PINNED, load_demo_contributions
from contributions.models import Contribution
from datadao.demo import DEMO_DAO_SLUG, load_demo_dao
from datadao.models import DAO, Dataset, Membership
from governance.demo import load_demo_governance
from labeling.demo import load_demo_labeling
from labeling.demo_types import load_demo_label_types
from labeling.models import Label, LabelTask
from rewards.demo import load_demo_chain, load_demo_rewards
from synthetic.demo import WINE_FILES, load_demo_synthetic


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Create whatever of the demo is missing; return counts of what exists."""
    dao, users = load_demo_dao()
    creator = users["creator"]
    before = Contribution.objects.filter(dataset__dao=dao).count()
    load_demo_contributions(users=users, dao_id=dao.pk)
    # Before the rewards: the wine rows are contributions too, paid like the others.
    load_demo_synthetic(dao=dao, creator=creator, contributors=[users["alice"], users["bob"]])
    # Before the epoch closes: its root is signed for the distributor, when one is deployed.
    load_demo_chain(dao=dao)
    load_demo_rewards(dao=dao, expected_credits=EXPECTED_PINNED + len(WINE_FILES))
    load_demo_labeling(dao=dao, creator=creator)
    load_demo_label_types(dao=dao, creator=creator)
    # A proposal passed and executed, and one open for votes.
    load_demo_governance(dao=dao)
    contributions = Contribution.objects.filter(dataset__dao=dao).count()
    return {
        "daos": DAO.objects.filter(slug=DEMO_DAO_SLUG).count(),
        "members": Membership.objects.filter(dao=dao).count(),
        "datasets": Dataset.objects.filter(dao=dao).count(),
        "contributions": contributions,
        "new_contributions": contributions - before,
        "label_tasks": LabelTask.objects.filter(dataset__dao=dao).count(),
        "labels": Label.objects.filter(dataset__dao=dao).count(),
    }
