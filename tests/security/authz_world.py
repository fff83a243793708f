"""The objects the authorization matrix (``test_authz_matrix.py``) requests, built once.

Two DAOs hold the same set of objects: *this* DAO, where every role of the matrix is defined,
and the *other* DAO, of which no role is a member. Every dataset is members-only, so each
object of the other DAO is private to every role. The "outsider" is a contributor of a third
DAO: signed in and a member somewhere, just not here.

Also built: a public dataset of the other DAO (with a release and a pinned contribution: public
to everyone, though its contribution is still its contributor's); the contributor's API tokens,
one per scope plus an expired and a revoked one; and the memberships of this DAO's admin and
creator, for the rows that try to change roles.

Rows are created directly where a service would need a worker, a key or a file (a pinned
contribution, a closed epoch, a voucher): the matrix is about who may reach what, not about
how the objects came to be.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from contributions.models import (
    ApiToken,
    ConsentWithdrawal,
    Contribution,
    ContributionProof,
    Release,
    ReleaseQuery,
    Status,
    ValidatorSet,
    ValidatorSetMember,
)
from contributions.tokens import api_token_create, api_token_revoke
from datadao.joining import invite_link_create
from datadao.models import (
    DAO,
    AuditEvent,
    Dataset,
    DatasetStatus,
    InviteLink,
    JoinRequest,
    Membership,
    Role,
    TermsAcceptance,
    User,
    Visibility,
    WorkerHeartbeat,
)
from datadao.services import dataset_set_status
from datadao.tokenscopes import TokenScope
from disputes.models import Challenge
from governance.models import Proposal
from governance.services import proposal_create
from ipfs.models import Pin, PinAuditRun
from ipfs.services import content_add
from labeling.models import (
    Assignment,
    ConsensusRun,
    HoldStatus,
    Label,
    LabelerStats,
    LabelImport,
    LabelTask,
    Review,
    RunStatus,
)
from rewards.models import (
    Allocation,
    Epoch,
    EpochStatus,
    RewardEntry,
    RewardPolicy,
    RoyaltyPayment,
    RoyaltyPolicy,
    Voucher,
)
from synthetic.models import JobStatus, PrivacyBudget, SyntheticJob
from tests.factories import TABULAR_SCHEMA, DAOFactory, DatasetFactory, UserFactory
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import endpoint_create

# The roles of the matrix, in the order of its columns.
ROLES = (
    "anonymous",
    "outsider",
    "contributor",
    "reviewer",
    "admin",
    "creator",
    "staff",
    "superuser",
)
# The contributor's API tokens, the columns of the token matrix: one per scope (each alone),
# one with every scope but expired, one with every scope but revoked.
TOKEN_ROLES = ("token:upload", "token:label", "token:read", "token:expired", "token:revoked")
LABELS = ["cat", "dog"]
# Written into each DAO's private dataset names, slugs and descriptions: a response that shows
# one to a user who is not a member of that DAO has leaked it.
SECRET = {"this": "zq-secret-of-this-dao", "other": "zq-secret-of-other-dao"}


@dataclass
class Side:
    """One DAO and one of each object the URLs take as a path parameter."""

    dao: DAO
    contributor: User
    peer: User
    membership: Membership
    tabular: Dataset
    labeling: Dataset
    contribution: Contribution
    rejected: Contribution
    release: Release
    task: LabelTask
    hold: Assignment
    label_import: LabelImport
    run: ConsensusRun
    review: Review
    stats: LabelerStats
    job: SyntheticJob
    budget: PrivacyBudget
    policy: RewardPolicy
    royalty_policy: RoyaltyPolicy
    royalty_payment: RoyaltyPayment
    closed_epoch: Epoch
    open_epoch: Epoch
    entry: RewardEntry
    query: ReleaseQuery
    withdrawal: ConsentWithdrawal
    allocation: Allocation
    voucher: Voucher
    peer_voucher: Voucher
    audit: AuditEvent
    join_request: JoinRequest
    acceptance: TermsAcceptance
    invite: InviteLink
    invite_token: str
    proposal: Proposal
    challenge: Challenge
    webhook_endpoint: WebhookEndpoint
    webhook_delivery: WebhookDelivery
    validator_set: ValidatorSet
    pins: dict[str, Pin] = field(default_factory=dict)


@dataclass
class Public:
    """A public dataset of the other DAO: its page, release and pins are everyone's."""

    tabular: Dataset
    contribution: Contribution
    release: Release
    pins: dict[str, Pin]


@dataclass
class World:
    users: dict[str, User]
    this: Side
    other: Side
    public: Public
    heartbeat: WorkerHeartbeat
    audit_run: PinAuditRun
    group: Group
    tokens: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Membership] = field(default_factory=dict)

    def side(self, variant: str) -> Side:
        """The objects of ``this`` or the ``other`` DAO (variant names as in the matrix)."""
        return self.other if variant == "other" else self.this


def _pin(data: bytes, label: str, content_type: str = "application/octet-stream") -> Pin:
    return content_add(stream=io.BytesIO(data), label=label, content_type=content_type)


def _side(name: str, dao: DAO, contributor: User, peer: User) -> Side:
    secret = SECRET[name]
    tabular = DatasetFactory(
        dao=dao,
        name=f"Tabular {secret}",
        slug=f"readings-{secret}",
        description=secret,
        schema=dict(TABULAR_SCHEMA),
        visibility=Visibility.MEMBERS,
    )
    labeling = DatasetFactory(
        dao=dao,
        name=f"Labeling {secret}",
        slug=f"pictures-{secret}",
        description=secret,
        kind="labeling",
        schema={"labels": LABELS, "overlap": 3, "item_kind": "text"},
        visibility=Visibility.MEMBERS,
    )
    for dataset in (tabular, labeling):
        dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    now = timezone.now()

    contribution = Contribution.objects.create(
        dataset=tabular,
        contributor=contributor,
        status=Status.PINNED,
        sha256=("a" if name == "this" else "b") * 64,
        size=12,
        media_type="text/csv",
        original_name=f"{secret}.csv",
        storage_name=f"authz-{name}-pinned",
        score=9000,
        cid="pending",
    )
    pins = {"contribution": _pin(f"{secret} row\n".encode(), f"contribution:{contribution.pk}")}
    contribution.cid = pins["contribution"].cid
    contribution.save(update_fields=["cid"])
    ContributionProof.objects.create(
        contribution=contribution, typed_data={"secret": secret}, signature="0x00", signer="0x0"
    )
    rejected = Contribution.objects.create(
        dataset=tabular,
        contributor=contributor,
        status=Status.REJECTED,
        sha256=("c" if name == "this" else "d") * 64,
        size=12,
        storage_name=f"authz-{name}-rejected",
        score=100,
        reasons=["quality below the threshold"],
    )

    manifest = {
        "dataset": {"schema": tabular.schema, "name": tabular.name},
        "contributions": [],
        "totals": {"contributions": 0, "bytes": 0},
    }
    pins["release"] = _pin(
        json.dumps(manifest).encode(), f"release:{tabular}@v1", "application/json"
    )
    release = Release.objects.create(
        dataset=tabular,
        version=1,
        cid=pins["release"].cid,
        manifest=manifest,
        contributions_count=0,
        total_bytes=0,
    )

    task = LabelTask.objects.create(
        dataset=labeling,
        source_key="t0",
        kind="text",
        payload={"text": "is this a cat?"},
        wanted=3,
        reserved=2,
        label_count=1,
    )
    expires = now + timedelta(hours=1)
    # The peer has answered already; the contributor holds the same task, not yet answered.
    Assignment.objects.create(
        dataset=labeling, task=task, labeler=peer, status=HoldStatus.SUBMITTED, expires_at=expires
    )
    # An hour ago: too old to undo, so the matrix's "undo" finds nothing to take back.
    Label.objects.create(
        dataset=labeling,
        task=task,
        labeler=peer,
        value=["dog"],
        choice=1,
        created_at=now - timedelta(hours=1),
    )
    hold = Assignment.objects.create(
        dataset=labeling, task=task, labeler=contributor, expires_at=expires
    )
    # A settled item, accepted by the DAO's creator: what the console's review list shows.
    settled = LabelTask.objects.create(
        dataset=labeling,
        source_key="t1",
        kind="text",
        payload={"text": "and this?"},
        status="complete",
        consensus=["cat"],
        posterior=0.7,
        settlements=1,
        review="accept",
    )
    review = Review.objects.create(
        dataset=labeling,
        task=settled,
        settlement=1,
        reviewer=dao.creator,
        decision="accept",
        answer=["cat"],
        seen_consensus=["cat"],
        seen_posterior=0.7,
    )
    # Distinct bytes per DAO: identical content would be one pin (a CID names the content).
    pins["item"] = _pin(f"{name} item".encode(), f"labeling:{labeling.pk}")

    job = SyntheticJob.objects.create(
        dataset=tabular, method="copula", status=JobStatus.FAILED, error=secret
    )
    pins["synthetic"] = _pin(f"{secret} synthetic".encode(), f"synthetic:{job.pk}")

    closed_epoch = Epoch.objects.create(
        dao=dao,
        number=1,
        status=EpochStatus.CLOSED,
        closed_at=now,
        root="0x" + "11" * 32,
        total=5,
    )
    # Someone who asked to join (pending), with the terms they signed; an invite link.
    applicant = UserFactory()
    acceptance = TermsAcceptance.objects.create(
        dao=dao,
        user=applicant,
        typed_data={"secret": secret},
        signature="0x" + ("1" if name == "this" else "2") * 130,
        signer=applicant.address,
        terms_hash="0x" + "0" * 64,
    )
    join_request = JoinRequest.objects.create(dao=dao, user=applicant, acceptance=acceptance)
    invite, invite_token = invite_link_create(dao=dao, actor=dao.creator, max_uses=5)
    # A validator set of one outside validator (made directly: the service dispatches a task).
    validator_set = ValidatorSet.objects.create(dao=dao, version=1, threshold=1)
    ValidatorSetMember.objects.create(
        validator_set=validator_set, address=UserFactory.build().address
    )
    # A webhook endpoint (a public address literal: no lookup) and a delivery it received.
    webhook_endpoint, _ = endpoint_create(
        dao=dao,
        url=f"https://93.184.216.34/hooks/{secret}",
        events=["membership.requested"],
        actor=None,
    )
    webhook_delivery = WebhookDelivery.objects.create(
        endpoint=webhook_endpoint,
        event=WebhookEvent.objects.create(
            dao=dao, type="membership.requested", payload={"request": {"id": join_request.pk}}
        ),
        status=DeliveryStatus.SUCCEEDED,
        attempts=1,
        response_status=200,
    )
    # A consumer's payment for the tabular release, split to the contributor (settled).
    royalty_payment = RoyaltyPayment.objects.create(
        dao=dao,
        dataset=tabular,
        release_cid=release.cid,
        payment_key=f"payment-{secret}",
        amount=9,
        treasury_share_bps=0,
        treasury_amount=0,
        total_score=9000,
        shares=[
            {
                "account": contributor.pk,
                "address": contributor.address,
                "score": 9000,
                "amount": "9",
            }
        ],
    )
    RewardEntry.objects.create(
        dao=dao,
        dataset=tabular,
        account=contributor,
        amount=9,
        reason="royalty",
        source_type="rewards.royaltypayment",
        source_id=f"{royalty_payment.pk}:{contributor.pk}",
        epoch=closed_epoch,
    )
    voucher_fields = {
        "dao": dao,
        "amount": 7,
        "nonce": 0,
        "deadline": 2**40,
        "dataset_id": "0x" + "00" * 32,
        "typed_data": {"secret": secret},
        "signature": "0x00",
        "signer": "0x0",
    }
    query = ReleaseQuery.objects.create(
        release=release,
        requested_by=contributor,
        basis="member",
        sql="select count(*) from data",
        min_group_rows=5,
        state=ReleaseQuery.State.DONE,
        result={"columns": ["count_star()"], "rows": [[7]]},
    )
    withdrawal = ConsentWithdrawal.objects.create(
        contributor=contributor,
        dataset=tabular,
        contribution=rejected,
        nonce=f"0x{name.encode().hex():0<64}",
        typed_data={"secret": secret},
        signature="0x00",
        withdrawn=[rejected.pk],
    )
    # A proposal about the members-only dataset: its members' only.
    proposal = proposal_create(
        dao=dao,
        proposer=contributor,
        title=f"Relicence {secret}",
        description=secret,
        kind="dataset.license",
        change={"dataset": tabular.pk, "license": "MIT"},
        voting_period_seconds=24 * 3600,
        quorum=1,
    )
    # A challenge of the pinned contribution by the peer, waiting for a reviewer.
    challenge = Challenge.objects.create(
        dao=dao,
        dataset=tabular,
        challenger=peer,
        contribution=contribution,
        reason="replay",
        statement=secret,
        status="review",
        bond_status="none",
    )
    return Side(
        proposal=proposal,
        challenge=challenge,
        query=query,
        withdrawal=withdrawal,
        dao=dao,
        contributor=contributor,
        peer=peer,
        membership=Membership.objects.get(dao=dao, user=contributor),
        tabular=tabular,
        labeling=labeling,
        contribution=contribution,
        rejected=rejected,
        release=release,
        task=task,
        hold=hold,
        label_import=LabelImport.objects.create(
            dataset=labeling,
            file_name=f"{secret}.csv",
            storage_name=f"authz-{name}",
            format="csv",
            status=RunStatus.DONE,
        ),
        run=ConsensusRun.objects.create(
            dataset=labeling,
            method="ds",
            status=RunStatus.DONE,
            finished_at=now,
            metrics={"alpha": 0.5},
        ),
        review=review,
        stats=LabelerStats.objects.create(dataset=labeling, labeler=peer, labels=1),
        job=job,
        budget=PrivacyBudget.objects.create(dataset=tabular, epsilon=1.0),
        policy=RewardPolicy.objects.create(dataset=tabular, per_contribution=100),
        royalty_policy=RoyaltyPolicy.objects.create(dao=dao),
        royalty_payment=royalty_payment,
        closed_epoch=closed_epoch,
        open_epoch=Epoch.objects.create(dao=dao, number=2),
        entry=RewardEntry.objects.create(
            dao=dao,
            dataset=tabular,
            account=contributor,
            amount=5,
            reason="contribution",
            source_type="contribution",
            source_id=str(contribution.pk),
            epoch=closed_epoch,
        ),
        allocation=Allocation.objects.create(
            epoch=closed_epoch, account=contributor.address, amount=5, tree_index=0
        ),
        voucher=Voucher.objects.create(contributor=contributor.address, **voucher_fields),
        peer_voucher=Voucher.objects.create(contributor=peer.address, **voucher_fields),
        audit=AuditEvent.objects.filter(dao=dao).order_by("id").first(),  # type: ignore[arg-type]
        join_request=join_request,
        acceptance=acceptance,
        invite=invite,
        invite_token=invite_token,
        webhook_endpoint=webhook_endpoint,
        webhook_delivery=webhook_delivery,
        validator_set=validator_set,
        pins=pins,
    )


def _public(dao: DAO, contributor: User) -> Public:
    tabular = DatasetFactory(
        dao=dao,
        name="Open readings",
        slug="open-readings",
        schema=dict(TABULAR_SCHEMA),
        visibility=Visibility.PUBLIC,
    )
    dataset_set_status(dataset=tabular, actor=None, status=DatasetStatus.OPEN)
    contribution = Contribution.objects.create(
        dataset=tabular,
        contributor=contributor,
        status=Status.PINNED,
        sha256="e" * 64,
        size=9,
        media_type="text/csv",
        original_name="open.csv",
        storage_name="authz-public-pinned",
        score=9000,
        cid="pending",
    )
    pins = {"contribution": _pin(b"open row\n", f"contribution:{contribution.pk}")}
    contribution.cid = pins["contribution"].cid
    contribution.save(update_fields=["cid"])
    ContributionProof.objects.create(
        contribution=contribution, typed_data={"open": True}, signature="0x00", signer="0x0"
    )
    manifest = {
        "dataset": {"schema": tabular.schema, "name": tabular.name},
        "contributions": [],
        "totals": {"contributions": 0, "bytes": 0},
    }
    pins["release"] = _pin(
        json.dumps(manifest).encode(), f"release:{tabular}@v1", "application/json"
    )
    release = Release.objects.create(
        dataset=tabular,
        version=1,
        cid=pins["release"].cid,
        manifest=manifest,
        contributions_count=0,
        total_bytes=0,
    )
    return Public(tabular=tabular, contribution=contribution, release=release, pins=pins)


def _tokens(user: User) -> dict[str, str]:
    tokens = {
        f"token:{scope}": api_token_create(user=user, name=scope, scopes=[scope])[1]
        for scope in TokenScope.values
    }
    expired, tokens["token:expired"] = api_token_create(user=user, name="expired")
    back = timedelta(days=91)
    ApiToken.objects.filter(pk=expired.pk).update(
        created_at=expired.created_at - back, expires_at=expired.expires_at - back
    )
    revoked, tokens["token:revoked"] = api_token_create(user=user, name="revoked")
    api_token_revoke(token_id=revoked.pk, actor=user)
    # Used just now: the matrix's requests do not move last_used_at (no write to tell apart).
    ApiToken.objects.filter(user=user).update(last_used_at=timezone.now())
    assert set(tokens) == set(TOKEN_ROLES)
    return tokens


def build_world() -> World:
    """Both DAOs, one user per role and every object; call inside a transaction."""
    users = {role: UserFactory() for role in ROLES if role != "anonymous"}
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    users["superuser"].is_staff = users["superuser"].is_superuser = True
    users["superuser"].save(update_fields=["is_staff", "is_superuser"])
    this_dao = DAOFactory(name="This DAO", slug="this-dao", creator=users["creator"])
    for role in ("contributor", "reviewer", "admin"):
        Membership.objects.create(dao=this_dao, user=users[role], role=role)
    elsewhere = DAOFactory(name="Elsewhere DAO", slug="elsewhere-dao")
    Membership.objects.create(dao=elsewhere, user=users["outsider"], role=Role.CONTRIBUTOR)
    other_dao = DAOFactory(name="Other DAO", slug="other-dao")
    other_contributor, other_peer = UserFactory(), UserFactory()
    for user in (other_contributor, other_peer):
        Membership.objects.create(dao=other_dao, user=user, role=Role.CONTRIBUTOR)
    return World(
        users=users,
        this=_side("this", this_dao, users["contributor"], users["reviewer"]),
        other=_side("other", other_dao, other_contributor, other_peer),
        public=_public(other_dao, other_contributor),
        tokens=_tokens(users["contributor"]),
        roles={
            role: Membership.objects.get(dao=this_dao, user=users[role])
            for role in ("contributor", "reviewer", "admin", "creator")
        },
        heartbeat=WorkerHeartbeat.objects.create(hostname="authz-worker", last_seen=timezone.now()),
        audit_run=PinAuditRun.objects.create(backend="embedded"),
        group=Group.objects.create(name="authz-operators"),
    )
