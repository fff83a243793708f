"""Reads for DAOs, memberships and datasets. Every query here is bounded or paginated by callers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from datadao import cards
from datadao.jointerms import licenses_text
from datadao.models import (
    DAO,
    MANAGER_ROLES,
    Dataset,
    DatasetStatus,
    InviteLink,
    JoinRequest,
    Membership,
    TermsAcceptance,
    User,
    Visibility,
)
from datadao.schema import validate_schema


def managed_dao_ids(*, user: User) -> set[int]:
    """IDs of the DAOs this user may manage in the console (creator or admin)."""
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, role__in=MANAGER_ROLES).values_list(
            "dao_id", flat=True
        )
    )


def user_has_console_access(*, user: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, role__in=MANAGER_ROLES).exists()


def request_has_console_access(request: HttpRequest) -> bool:
    """``user_has_console_access`` for the request's user, asked once per request: the
    console's gate, its pages and the navigation each ask."""
    cached = getattr(request, "_console_access", None)
    if cached is None:
        cached = user_has_console_access(user=request.user)
        request._console_access = cached  # type: ignore[attr-defined]
    return cached


def dao_list(*, user: User | None = None) -> QuerySet[DAO]:
    """All DAOs with counts of their visible datasets and members, for the directory."""
    return DAO.objects.annotate(
        dataset_count=Count("datasets", distinct=True),
        member_count=Count("memberships", distinct=True),
    ).order_by("name")


def dataset_list_visible(*, dao: DAO, user: User) -> QuerySet[Dataset]:
    """Datasets of ``dao`` this user may see: public ones, and members-only ones for members."""
    datasets = Dataset.objects.filter(dao=dao)
    if user.is_authenticated and (
        user.is_superuser or Membership.objects.filter(dao=dao, user=user).exists()
    ):
        return datasets
    return datasets.filter(Q(visibility=Visibility.PUBLIC))


def dataset_cards(*, dao: DAO, user: User) -> list[Dataset]:
    """The datasets a DAO page lists, each with its reward policy and what the apps built on
    datasets add to its card (``datadao.cards``: the latest release, counts of pinned
    contributions and labeled items). One query for the list, one per registered part."""
    listed = dataset_list_visible(dao=dao, user=user).select_related("dao", "reward_policy")
    for part in cards.parts():
        if part.annotate is not None:
            listed = part.annotate(listed)
    datasets = list(listed.order_by("name"))
    for part in cards.parts():
        if part.fill is not None:
            part.fill(datasets)
    return datasets


def dao_open_licenses(*, dao: DAO) -> str:
    """The licences of the DAO's open datasets, as a joiner signs them: each SPDX expression
    once, sorted; no dataset is named, so nothing members-only shows."""
    licenses = Dataset.objects.filter(dao=dao, status=DatasetStatus.OPEN).values_list(
        "license", flat=True
    )
    return licenses_text(list(licenses))


def joining_state(*, dao: DAO, user: User) -> dict[str, object]:
    """What the DAO page shows a visitor about joining: their membership (and whether they are
    its last creator, who cannot leave), their latest join request, and the terms they have
    signed for this DAO (latest first, at most 5)."""
    licenses = dao_open_licenses(dao=dao)
    if not user.is_authenticated:
        return {
            "membership": None,
            "request": None,
            "acceptances": [],
            "last_creator": False,
            "licenses": licenses,
        }
    membership = Membership.objects.filter(dao=dao, user=user).first()
    last_creator = (
        membership is not None
        and membership.role == "creator"
        and not Membership.objects.filter(dao=dao, role="creator").exclude(user=user).exists()
    )
    return {
        "membership": membership,
        "request": JoinRequest.objects.filter(dao=dao, user=user).order_by("-created_at").first(),
        "acceptances": list(TermsAcceptance.objects.filter(dao=dao, user=user)[:5]),
        "last_creator": last_creator,
        "licenses": licenses,
    }


# --- the founder's first steps --------------------------------------------------------------

SETUP_STEPS = ("dataset", "schema", "rewards", "open", "invite")
# Datasets whose schemas are read for the "schema" step: enough for any DAO still setting up.
_SETUP_DATASETS = 20


@dataclass(frozen=True)
class SetupStep:
    """One of a new DAO's first steps. ``dataset_id`` is the dataset the step is about (the
    first one still lacking it, else the first one); ``object_id`` the object to edit for it,
    where there is one (the dataset's reward policy)."""

    key: str
    done: bool
    dataset_id: int | None = None
    object_id: int | None = None


def dao_setup_steps(*, dao: DAO) -> list[SetupStep]:
    """The checklist a founder follows after founding ``dao`` (``SETUP_STEPS``, in order), each
    step done or not as the database says: a dataset exists; one has a schema the validator
    accepts; one has a reward policy that pays something; one is open; someone other than the
    founder was invited (an invite link) or has joined. Five queries however large the DAO."""
    datasets = list(
        Dataset.objects.filter(dao=dao)
        .order_by("created_at", "pk")
        .values("pk", "kind", "schema", "status")[:_SETUP_DATASETS]
    )
    first = datasets[0]["pk"] if datasets else None
    # A schema is "set" when the validator accepts it: that needs at least one column, one
    # media type or two labels, which the kind's empty starting schema (``empty_schema``) does
    # not have. Every way of saving a dataset validates its schema, so a founder who saves a
    # dataset has set one and both steps tick together; a stored schema the validator now
    # refuses (data older than a rule) leaves the step undone.
    valid = [d["pk"] for d in datasets if not validate_schema(d["kind"], d["schema"])]
    invalid = [d["pk"] for d in datasets if d["pk"] not in valid]
    # From the rewards app (``datadao.cards``): a policy of zeros pays nothing, and the step is
    # not done until some amount is set.
    policies = cards.reward_policies([d["pk"] for d in datasets])
    paying = {dataset_id for dataset_id, (_, pays) in policies.items() if pays}
    unpaid = [d["pk"] for d in datasets if d["pk"] not in paying]
    rewards_target = unpaid[0] if unpaid else first
    drafts = [d["pk"] for d in datasets if d["status"] == DatasetStatus.DRAFT]
    invited = (
        InviteLink.objects.filter(dao=dao).exists()
        or Membership.objects.filter(dao=dao).exclude(user_id=dao.creator_id).exists()
    )
    return [
        SetupStep("dataset", bool(datasets), first),
        SetupStep("schema", bool(valid), invalid[0] if invalid else first),
        SetupStep(
            "rewards",
            bool(paying),
            rewards_target,
            policies[rewards_target][0] if rewards_target in policies else None,
        ),
        SetupStep(
            "open",
            Dataset.objects.filter(dao=dao, status=DatasetStatus.OPEN).exists(),
            drafts[0] if drafts else first,
        ),
        SetupStep("invite", invited),
    ]
